"""embrec against Surprise, implicit and fastai on MovieLens 100k, side by side in one run.

Run ``.venv/bin/python benchmarks/compare.py`` (or ``embrec benchmark``); the reference libraries
come from the optional ``bench`` extra (see the README), and any that is missing is skipped and
named. ``--folds u1 --models surprise-svd,embrec-dot`` runs a subset quickly; ``--list`` names
the models. Prints the table and the targets of issue 3, writes them to ``docs/benchmarks.md``
(``--out``), and exits 1 when a target that this run could check is missed.

Every model is scored by embrec's evaluation protocol (``embrec.evaluation.protocol.evaluate``):
the reference libraries' predictions are turned into score matrices over all items and go
through the same seen-item exclusion, top-k and metric functions (``harness/adapter.py``).
Hyper-parameters: Surprise with its defaults, fastai in the book's setting, embrec rows with
the library's defaults; implicit ALS/BPR, EASE, ``embrec best``, ``embrec dot (ranking)`` and the
popularity boost are tuned on a validation split carved out of each training fold (10%, seeded),
never on the test fold.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console
from rich.table import Table

from embrec.data.movielens import load_fold, load_movielens
from embrec.data.splits import Split, random_test_mask
from embrec.evaluation.protocol import evaluate, relevance_threshold
from harness import embrec_runs, references
from harness.adapter import evaluate_scores, popularity_scores
from harness.report import FOLDS, Row, checks, markdown, table_rows

Runner = Callable[[Split, int, int], dict[str, Any]]  # (split, seed, timing repeats) -> fold result
console = Console(width=220)


def _log(message: str) -> None:
    console.print(message, highlight=False)


# --- runners: one per row, each returning protocol metrics + fit_seconds + params ----------------


def _surprise(name: str) -> Runner:
    def run(split: Split, seed: int, repeats: int) -> dict[str, Any]:
        fitted, algo = references.fit_surprise(split.train, name, seed)
        for _ in range(repeats - 1):
            again = references.fit_surprise(split.train, name, seed)[0]
            fitted.fit_seconds = min(fitted.fit_seconds, again.fit_seconds)
        gap = references.check_surprise(algo, fitted, split.test)
        if gap > 1e-3:
            raise RuntimeError(f"score matrix of Surprise {name} differs from its predict() by {gap:.2e}")
        return _result(split, fitted, name)

    return run


def _tuned(name: str, grid: list[dict[str, Any]], fit: Callable[[Any, dict[str, Any]], references.Fitted]) -> Runner:
    """A ranking reference whose settings are chosen by NDCG@10 on the validation split."""

    def run(split: Split, seed: int, repeats: int) -> dict[str, Any]:
        held = random_test_mask(len(split.train), embrec_runs.VALID_FRACTION, seed)
        part, valid = split.train.subset(~held), split.train.subset(held)
        scored = []
        for params in grid:
            fitted = fit(part, params)
            scored.append((evaluate_scores(part, valid, None, fitted.ranking, name)["ndcg@10"], params))
        best_ndcg, best = max(scored, key=lambda s: s[0])
        result = _result(split, fit(split.train, best), name)
        result["params"] |= {"validation_ndcg@10": round(best_ndcg, 4), "grid_size": len(grid)}
        return result

    return run


THREADS = {"n": 1}  # set from --threads in main


def _implicit(name: str) -> Runner:
    grid = references.IMPLICIT_GRIDS[name]
    return _tuned(name, grid, lambda train, p: references.fit_implicit(train, name, p, 4.0, 0, THREADS["n"]))


def _ease() -> Runner:
    return _tuned("ease", references.EASE_GRID, lambda train, p: references.fit_ease(train, p, 4.0))


def _popularity(split: Split, seed: int, repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    scores = popularity_scores(split.train, relevance_threshold(split.train.scale))
    fitted = references.Fitted(None, scores, time.perf_counter() - start, {"count": "ratings >= 4"})
    return _result(split, fitted, "popularity")


def _fastai(use_nn: bool) -> Runner:
    def run(split: Split, seed: int, repeats: int) -> dict[str, Any]:
        return _result(split, references.fit_fastai(split.train, use_nn, seed), "fastai")

    return run


def _embrec(candidate: embrec_runs.Candidate) -> Runner:
    def run(split: Split, seed: int, repeats: int) -> dict[str, Any]:
        trained = embrec_runs.fit_embrec(split.train, candidate, repeats)
        return _embrec_result(split, trained)

    return run


TUNED_DOT: dict[str, dict[str, Any]] = {}  # fold -> the validation-tuned dot refitted by embrec-best


def _embrec_best(split: Split, seed: int, repeats: int) -> dict[str, Any]:
    fitted = embrec_runs.fit_best(split.train, seed, _log)
    TUNED_DOT[split.name] = _embrec_result(split, fitted["dot"])
    return _embrec_result(split, fitted["best"])


def _embrec_ranking(split: Split, seed: int, repeats: int) -> dict[str, Any]:
    return _embrec_result(split, embrec_runs.fit_ranking_tuned(split.train, seed, _log))


def _embrec_boosted(split: Split, seed: int, repeats: int) -> dict[str, Any]:
    return _embrec_result(split, embrec_runs.fit_boosted_dot(split.train, seed, _log))


def _result(split: Split, fitted: references.Fitted, name: str) -> dict[str, Any]:
    metrics = evaluate_scores(split.train, split.test, fitted.ratings, fitted.ranking, name)
    return metrics | {"fit_seconds": fitted.fit_seconds, "params": fitted.params}


def _embrec_result(split: Split, trained: embrec_runs.Trained) -> dict[str, Any]:
    metrics = evaluate(trained.recommender, split.test, popularity_boost=trained.popularity_boost)
    return metrics | {"fit_seconds": trained.fit_seconds, "params": trained.params}


def catalogue() -> dict[str, tuple[str, str, Runner]]:
    """Model key -> (label, library, runner), in table order."""
    models: dict[str, tuple[str, str, Runner]] = {
        "surprise-baseline": ("Surprise BaselineOnly", "surprise", _surprise("BaselineOnly")),
        "surprise-svd": ("Surprise SVD", "surprise", _surprise("SVD")),
        "surprise-svdpp": ("Surprise SVD++", "surprise", _surprise("SVDpp")),
        "surprise-knnbaseline": ("Surprise KNNBaseline (item, pearson_baseline)", "surprise", _surprise("KNNBaseline")),
        "implicit-als": ("implicit ALS (r >= 4)", "implicit", _implicit("ALS")),
        "implicit-bpr": ("implicit BPR (r >= 4)", "implicit", _implicit("BPR")),
        "fastai-dot": ("fastai collab_learner (book)", "fastai", _fastai(False)),
        "fastai-nn": ("fastai collab_learner use_nn (book)", "fastai", _fastai(True)),
        "popularity": ("popularity (r >= 4 counts)", "numpy", _popularity),
        "ease": ("EASE (closed form, numpy)", "numpy", _ease()),
    }
    for label, candidate in embrec_runs.default_rows().items():
        models[f"embrec-{candidate.model.kind}"] = (f"{label} (defaults)", "embrec", _embrec(candidate))
    for label, candidate in embrec_runs.objective_rows().items():
        objective = label.split("(")[1].rstrip(")")
        models[f"embrec-dot-{objective}"] = (f"{label} (defaults)", "embrec", _embrec(candidate))
    models["embrec-dot-ranking"] = ("embrec dot (ranking, validation-tuned)", "embrec", _embrec_ranking)
    models["embrec-dot-boost"] = ("embrec dot (defaults) + popularity boost (validation)", "embrec", _embrec_boosted)
    models["embrec-best"] = ("embrec best (validation-tuned)", "embrec", _embrec_best)
    return models


# --- the run ------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    parser.add_argument("--folds", default=",".join(FOLDS), help="comma-separated folds (default u1..u5)")
    parser.add_argument("--models", default="all", help="comma-separated model keys (--list), default all")
    parser.add_argument("--fastai-folds", default="u1", help="folds fastai runs on (about 2 min per fold and variant)")
    parser.add_argument("--repeats", type=int, default=3, help="u1 fit timing of embrec defaults, Surprise: best of N")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch, implicit and BLAS (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"))
    parser.add_argument("--no-write", action="store_true", help="print only; do not write --out")
    parser.add_argument("--list", action="store_true", help="list the model keys and exit")
    parser.add_argument("--prog", default="python benchmarks/compare.py", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="implicit")
    models = catalogue()
    if args.list:
        for key, (label, library, _) in models.items():
            _log(f"{key:24} {label} ({library})")
        return 0
    folds = [f.strip() for f in args.folds.split(",") if f.strip()]
    wanted = list(models) if args.models == "all" else [m.strip() for m in args.models.split(",")]
    unknown = [m for m in wanted if m not in models]
    if unknown or any(f not in FOLDS for f in folds):
        _log(f"[red]unknown model(s) {unknown} or fold(s) in {folds}; see --list[/]")
        return 2
    notes = _skip_missing(wanted, models)
    with _limit_threads(args.threads):
        return _run(args, argv, models, wanted, folds, notes)


def _run(
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    models: dict[str, tuple[str, str, Runner]],
    wanted: list[str],
    folds: list[str],
    notes: list[str],
) -> int:
    fastai_folds = {f.strip() for f in args.fastai_folds.split(",")}
    full = load_movielens(args.data)
    splits = {fold: load_fold(fold, args.data, full) for fold in folds}
    load_before = os.getloadavg()
    rows: list[Row] = []
    for key in wanted:
        label, library, runner = models[key]
        if library in references.LIBRARIES and not references.available(library):
            continue
        row = Row(key, label, library)
        for fold in folds:
            if library == "fastai" and fold not in fastai_folds:
                continue
            start = time.perf_counter()
            timed = fold == "u1" and (key == "surprise-svd" or key.startswith("embrec-")) and key != "embrec-best"
            repeats = args.repeats if timed else 1
            row.folds[fold] = runner(splits[fold], args.seed, repeats)
            r = row.folds[fold]
            _log(f"{label} {fold}: rmse {_f(r['rmse'])} ndcg@10 {_f(r['ndcg@10'])} fit {r['fit_seconds']:.2f}s "
                 f"(wall {time.perf_counter() - start:.1f}s)")  # fmt: skip
        rows.append(row)
        if key == "embrec-best" and TUNED_DOT:
            label = "embrec dot (validation-tuned, from embrec best's pool)"
            rows.append(Row("embrec-dot-tuned", label, "embrec", dict(TUNED_DOT)))
            TUNED_DOT.clear()
    if any(r.library == "fastai" for r in rows) and set(folds) - fastai_folds:
        notes.append(f"fastai ran on {', '.join(sorted(fastai_folds & set(folds)))} only (--fastai-folds).")
    targets = checks(rows)
    _print(rows, targets)
    context = _context(args, argv, folds, load_before, notes)
    if not args.no_write:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(markdown(rows, targets, context) + _kept_section(Path(args.out)))
        _log(f"written to {args.out}")
    return 1 if any(c.run and not c.ok for c in targets) else 0


@contextlib.contextmanager
def _limit_threads(threads: int) -> Iterator[None]:
    """One setting for every library: torch, implicit and the BLAS under numpy/scipy.

    Surprise is single-threaded, so ``--threads 1`` (the default) compares like with like; it is
    also what keeps timings meaningful on a shared machine, where torch's default of one thread
    per core can run ten times slower than one thread.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    THREADS["n"] = threads
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    else:
        limits = threadpool_limits(threads)
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(before)


SCALE_SECTION = "## Synthetic scale"  # written by benchmarks/scale.py; kept when the table is rewritten


def _kept_section(path: Path) -> str:
    text = path.read_text() if path.is_file() else ""
    return "\n" + text[text.index(SCALE_SECTION) :] if SCALE_SECTION in text else ""


def _skip_missing(wanted: list[str], models: dict[str, tuple[str, str, Runner]]) -> list[str]:
    notes = []
    for library in sorted({models[m][1] for m in wanted} & set(references.LIBRARIES)):
        if not references.available(library):
            note = f"{library} is not installed: its rows were skipped (pip install -e '.[bench]', see the README)."
            _log(f"[yellow]{note}[/]")
            notes.append(note)
    return notes


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else "-"


def _print(rows: list[Row], targets: list[Any]) -> None:
    from harness.report import COLUMNS

    table = Table(title="MovieLens 100k: embrec and the reference libraries (embrec's ranking protocol)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "model" else "right")
    for cells in table_rows(rows):
        table.add_row(*cells)
    console.print(table)
    result = Table(title="targets (issue 3)")
    for column in ("target", "measured", "bound", "met"):
        result.add_column(column)
    for check in targets:
        met = "not run" if not check.run else ("yes" if check.ok else "[red]NO[/]")
        result.add_row(check.name + (f" ({check.detail})" if check.detail and check.run else ""), _f(check.value),
                       f"{check.op} {check.bound:g}", met)  # fmt: skip
    console.print(result)


def _context(
    args: argparse.Namespace, argv: Sequence[str] | None, folds: list[str], load: tuple[float, ...], notes: list[str]
) -> dict[str, Any]:
    import torch

    shown = list(sys.argv[1:] if argv is None else argv)
    shown = [a for a in shown if not a.startswith("--prog")]
    versions = []
    for package in ("embrec", "torch", "scikit-surprise", "implicit", "fastai", "numpy"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    after = os.getloadavg()
    machine = (
        f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, "
        f"load average {load[0]:.1f} at the start and {after[0]:.1f} at the end"
    )
    legend = [
        "Protocol: `embrec.evaluation.protocol.evaluate` for every row. RMSE/MAE over all test ratings; "
        "ranking over every test user with a test rating >= 4, all catalog items minus the user's training "
        "items, relevant = test items rated >= 4. Reference libraries are scored through dense score matrices "
        "(`benchmarks/harness/adapter.py`); Surprise's matrices are checked against its own `predict` on every "
        "test pair, and rank by the unclipped estimate.",
        "RMSE u1 is fold u1; `RMSE mean` is over u1..u5 with the population std; MAE, NDCG@10, P@10, R@10, "
        "coverage (share of the catalog shown in any top-10) and mean pop. (mean training count of the "
        "recommended items) are means over the folds the row ran. `fit s` is u1's training time (the library's "
        "fit call; input conversion and scoring not counted; embrec defaults and Surprise SVD: best of "
        f"{args.repeats}); `fit / SVD` and `fit / fastai` divide an embrec row's fit s by Surprise SVD's and "
        "fastai's (book) fit s from this same run.",
        "Hyper-parameters: Surprise with its defaults; fastai as in the book (n_factors=50, y_range=(0, 5.5), "
        "fit_one_cycle(5, 5e-3, wd=0.1), bs=64; use_nn with layers=[100, 50]); embrec rows marked (defaults) with "
        "`default_train_config(kind)` / `default_model_config(kind)` as the library ships them (`TrainConfig()` / "
        "`ModelConfig(kind=...)` plus a kind's own defaults: autorec's and bmf's). implicit ALS/BPR (positives: "
        "ratings >= 4), EASE and `embrec best` are tuned on a validation split carved out of each training fold "
        f"(`random_test_mask(len(train), {embrec_runs.VALID_FRACTION}, seed)`), never on the test fold: the "
        "references by validation NDCG@10 over a grid, then refitted on the whole training fold; `embrec best` "
        "as described in `benchmarks/harness/embrec_runs.py` (a least-squares blend of embrec models fitted "
        "on the validation ratings, kept only when its cross-fitted validation RMSE beats the best single "
        "model). Its fit s is the final refit only; its tuning time is under Settings. `embrec dot (ranking, "
        "validation-tuned)`: the `RANKING_GRID` setting (BPR or full softmax over positives, ratings >= 4) with "
        "the best validation NDCG@10, refitted; `+ popularity boost`: `embrec dot (defaults)` with lists ranked "
        "by prediction + beta * log(1 + item count), beta of the best validation NDCG@10 "
        "(`benchmarks/harness/embrec_runs.py`). Ranking-trained rows predict scores, not ratings: no RMSE.",
    ]
    return {
        "command": " ".join([args.prog, *shown]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "folds": folds,
        "versions": ", ".join(versions),
        "legend": legend,
        "notes": notes,
    }


if __name__ == "__main__":
    sys.exit(main())
