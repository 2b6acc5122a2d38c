"""Options and output helpers shared by the commands."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from embrec.artifacts.model_dir import ModelDirError
from embrec.data.errors import DataError
from embrec.data.ids import UnknownIdError
from embrec.data.readers import Columns, Duplicates
from embrec.data.sources import DataSpec, Format, SplitKind, SplitSpec
from embrec.recommend.recommender import ItemScore

console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

DataOpt = Annotated[
    str | None, typer.Option("--data", help="MovieLens folder or zip, or a ratings file (--format csv).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="movielens | csv (CSV, TSV or Parquet).")]
FoldOpt = Annotated[str, typer.Option("--fold", help="Canonical MovieLens fold: u1..u5, ua, ub.")]
SplitOpt = Annotated[str, typer.Option("--split", help="fold | random | per_user | temporal.")]
TestFractionOpt = Annotated[float, typer.Option("--test-fraction", help="Test share for random/per_user/temporal.")]
ColumnsOpt = Annotated[
    str | None, typer.Option("--columns", help="Column names user,item,rating[,timestamp] (default: detected).")
]
SepOpt = Annotated[str | None, typer.Option("--sep", help="Field separator (default: detected).")]
ScaleOpt = Annotated[str | None, typer.Option("--scale", help="Declared rating scale LO,HI, e.g. 0.5,5.")]
DuplicatesOpt = Annotated[str, typer.Option("--duplicates", help="error | last | mean for repeated (user, item).")]
ItemsOpt = Annotated[str | None, typer.Option("--items", help="Items file with titles and genres.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (splits and training).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
KOpt = Annotated[int, typer.Option("-k", "--k", help="List length.")]


def data_spec(
    data: str | None,
    fmt: str,
    columns: str | None,
    sep: str | None,
    scale: str | None,
    duplicates: str,
    items: str | None,
) -> DataSpec:
    """Turn the data options into a DataSpec, refusing bad values with a clear message."""
    the_format = _choice(fmt, FORMATS, "--format")
    policy = _choice(duplicates, DUPLICATES, "--duplicates")
    cols = None
    if columns:
        names = [c.strip() for c in columns.split(",")]
        if len(names) not in (3, 4):
            raise typer.BadParameter("--columns takes user,item,rating[,timestamp]")
        cols = Columns(names[0], names[1], names[2], names[3] if len(names) == 4 else None)
    return DataSpec(data, the_format, cols, sep, _scale(scale), policy, items)


def split_spec(split: str, fold: str, test_fraction: float, seed: int, fmt: str) -> SplitSpec:
    """The split options as a SplitSpec; ``fold`` (the default) means ``random`` for non-MovieLens data."""
    kind = _choice(split if split != "fold" or fmt == "movielens" else "random", SPLIT_KINDS, "--split")
    return SplitSpec(kind, fold, test_fraction, seed)


FORMATS: tuple[Format, ...] = ("movielens", "csv")
DUPLICATES: tuple[Duplicates, ...] = ("error", "last", "mean")
SPLIT_KINDS: tuple[SplitKind, ...] = ("fold", "random", "per_user", "temporal")
C = TypeVar("C", bound=str)


def _choice(value: str, choices: tuple[C, ...], option: str) -> C:
    """``value`` as one of the ``choices`` of ``option`` (typed as their Literal), else a usage error."""
    for choice in choices:
        if value == choice:
            return choice
    raise typer.BadParameter(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def _scale(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"--scale takes LO,HI (e.g. 1,5), not {text!r}") from None
    if not lo < hi:
        raise typer.BadParameter("--scale needs LO < HI")
    return (lo, hi)


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report expected failures (bad data, unknown ids, bad model dirs) in one line, exit 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (DataError, ModelDirError, UnknownIdError, ValueError, OSError) as exc:  # OSError: files, folders
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)  # [..] is text
            raise typer.Exit(2) from None

    return wrapper


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=1, default=_default) + "\n")


def _default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "to_json"):
        return value.to_json()
    raise TypeError(type(value).__name__)


def metrics_table(title: str, rows: dict[str, dict[str, Any]], keys: Sequence[str]) -> Table:
    """One row per model/fold, one column per metric."""
    table = Table(title=title)
    table.add_column("")
    for key in keys:
        table.add_column(key, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(_fmt(metrics.get(key)) for key in keys))
    return table


def items_table(title: str, items: Sequence[ItemScore], score_label: str = "score") -> Table:
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("item", justify="right")
    table.add_column("title")
    table.add_column(score_label, justify="right")
    for rank, entry in enumerate(items, 1):
        table.add_row(str(rank), entry.item, entry.title, f"{entry.score:.3f}")
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


METRIC_KEYS = (
    "rmse", "mae", "precision@10", "recall@10", "ndcg@10", "map@10", "hit_rate@10", "coverage", "mean_popularity",
)  # fmt: skip


def metric_keys(k: int) -> tuple[str, ...]:
    return tuple(key.replace("@10", f"@{k}") for key in METRIC_KEYS)
