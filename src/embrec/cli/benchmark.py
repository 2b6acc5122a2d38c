"""``embrec benchmark``: the side-by-side comparison of ``benchmarks/compare.py``.

A thin shell: the harness lives in the source checkout's ``benchmarks/`` folder (it needs the
optional ``bench`` extra for the reference libraries), so this command runs from a checkout
installed with ``pip install -e``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from embrec.cli.common import DataOpt, errors

HARNESS = Path(__file__).resolve().parents[3] / "benchmarks" / "compare.py"


def benchmark(
    data: DataOpt = None,
    folds: Annotated[str, typer.Option("--folds", help="Comma-separated MovieLens folds.")] = "u1,u2,u3,u4,u5",
    models: Annotated[str, typer.Option("--models", help="Comma-separated model keys (--list), or all.")] = "all",
    fastai_folds: Annotated[str, typer.Option("--fastai-folds", help="Folds fastai runs on (slow).")] = "u1",
    threads: Annotated[int, typer.Option("--threads", help="Threads for torch, implicit and BLAS.")] = 1,
    out: Annotated[str | None, typer.Option("--out", help="Markdown report (default docs/benchmarks.md).")] = None,
    no_write: Annotated[bool, typer.Option("--no-write", help="Print only.")] = False,
    list_models: Annotated[bool, typer.Option("--list", help="List the model keys and exit.")] = False,
) -> None:
    """embrec against Surprise, implicit and fastai on MovieLens 100k; exits 1 below a target."""
    if not HARNESS.is_file():
        errors.print(f"[bold red]error:[/] no harness at {HARNESS}: run from a source checkout (pip install -e .)")
        raise typer.Exit(2)
    argv = ["--folds", folds, "--models", models, "--fastai-folds", fastai_folds, "--threads", str(threads)]
    argv += ["--prog", "embrec benchmark"] + (["--data", data] if data else []) + (["--out", out] if out else [])
    argv += (["--no-write"] if no_write else []) + (["--list"] if list_models else [])
    spec = importlib.util.spec_from_file_location("embrec_benchmark_compare", HARNESS)
    if spec is None or spec.loader is None:
        raise typer.Exit(2)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raise typer.Exit(int(module.main(argv)))
