"""Wide & Deep figures on MovieLens 100k: warm accuracy next to dot/nn, and brand-new users/items.

Run: ``.venv/bin/python benchmarks/widedeep.py [--data PATH] [--folds u1,u2,...]``. Prints tables
and exits non-zero when a target is missed. Every model uses embrec's defaults (``TrainConfig()``,
``ModelConfig(kind=...)``; ``widedeep`` with :func:`movielens_features`).

1. RMSE on the canonical folds for ``dot``, ``nn`` and ``widedeep``. Target: ``widedeep`` at least
   as good as ``dot`` on the mean over the folds.
2. Cold start: 10% of the users (seeded) lose all their ratings from training, and are scored from
   their attributes alone (``score_new_users``); separately, 10% of the items. Baselines:
   - *bias fallback*: the closed-form bias model's prediction for an id without ratings, i.e. the
     global mean plus the known side's bias plus the mean bias of the new side (``fill_untrained``);
   - *popularity fallback*: the mean training rating of the items with about as many training
     ratings (deciles of the count); a new item has none, so it gets the least-rated decile's mean.
   Target: features-only beats both, on held-out users and on held-out items.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from embrec.data.movielens import FOLDS, load_fold, load_movielens
from embrec.data.ratings import Ratings
from embrec.data.side_features import Side, movielens_features
from embrec.evaluation.rating_metrics import rmse
from embrec.models import ModelConfig
from embrec.recommend.features_only import score_new_items, score_new_users
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

HELD_OUT = 0.10
SEED = 0


def model_config(kind: str) -> ModelConfig:
    return ModelConfig(kind=kind, features=movielens_features().to_json() if kind == "widedeep" else None)


def fit(kind: str, train: Ratings, config: TrainConfig) -> tuple[Recommender, float]:
    model, resolved, history = train_model(train, model_config(kind), config)
    return Recommender.from_training(model, resolved, train, config), history.seconds


def warm(folds: list[str], data: str | None, config: TrainConfig, console: Console) -> dict[str, dict[str, float]]:
    full = load_movielens(data)
    results: dict[str, dict[str, float]] = {}
    for fold in folds:
        split = load_fold(fold, data, full)
        for kind in ("dot", "nn", "widedeep"):
            rec, seconds = fit(kind, split.train, config)
            predicted = rec.predict_indices(split.test.users, split.test.items)
            results.setdefault(kind, {})[fold] = rmse(predicted, split.test.ratings)
            results[kind]["fit_s"] = results[kind].get("fit_s", 0.0) + seconds
            console.log(f"{kind} on {fold}: RMSE {results[kind][fold]:.4f} ({seconds:.0f} s)")
    for row in results.values():
        row["mean"] = statistics.mean(row[f] for f in folds)
    return results


def cold(side: Side, full: Ratings, config: TrainConfig) -> dict[str, float]:
    """RMSE on the ratings of held-out users (or items) for features-only and the fallbacks."""
    n = full.n_users if side == "user" else full.n_items
    held = np.random.default_rng(SEED).permutation(n)[: round(HELD_OUT * n)]
    index = full.users if side == "user" else full.items
    in_test = np.isin(index, held)
    train, test = full.subset(~in_test, name="train"), full.subset(in_test, name="held out")
    widedeep, _ = fit("widedeep", train, config)
    bias, _ = fit("bias", train, config)
    position = np.full(n, -1)
    position[held] = np.arange(len(held))  # row of each held-out index in the score matrix
    if side == "user":
        assert full.user_table is not None
        scores = score_new_users(widedeep, full.user_table.iloc[held])  # (held users, n_items)
        features_only = scores[position[test.users], test.items]
    else:
        assert full.item_table is not None
        scores = score_new_items(widedeep, full.item_table.iloc[held])  # (held items, n_users)
        features_only = scores[position[test.items], test.users]
    return {
        "features only (widedeep)": rmse(features_only, test.ratings),
        "widedeep, mean id (fill_untrained)": rmse(widedeep.predict_indices(test.users, test.items), test.ratings),
        "bias fallback": rmse(bias.predict_indices(test.users, test.items), test.ratings),
        "popularity fallback": rmse(popularity_fallback(train, test), test.ratings),
        "n_test": float(len(test)),
    }


def popularity_fallback(train: Ratings, test: Ratings) -> np.ndarray:
    """Each test item's prediction: the mean training rating of its popularity decile."""
    counts = train.item_counts()
    rated = counts > 0
    edges = np.quantile(counts[rated], np.linspace(0, 1, 11)[1:-1])
    decile = np.searchsorted(edges, counts, side="right")  # 0..9; an unrated item falls in 0
    sums = np.bincount(decile[train.items], weights=train.ratings, minlength=10)
    sizes = np.bincount(decile[train.items], minlength=10)
    means = np.where(sizes > 0, sums / np.maximum(sizes, 1), train.mean())
    return means[decile[test.items]].astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    parser.add_argument("--folds", default="u1,u2,u3,u4,u5", help="comma-separated canonical folds")
    args = parser.parse_args()
    folds = [f.strip() for f in args.folds.split(",") if f.strip()]
    if not folds or any(f not in FOLDS for f in folds):
        parser.error(f"--folds takes names among {', '.join(FOLDS)}")
    console, config, start = Console(), TrainConfig(), time.perf_counter()
    results = warm(folds, args.data, config, console)
    full = load_movielens(args.data)
    cold_results = {side: cold(side, full, config) for side in ("user", "item")}  # type: ignore[misc]

    table = Table(title=f"RMSE on MovieLens 100k folds (embrec defaults, {config.epochs} epochs)")
    for column in ("model", *folds, f"mean {folds[0]}..{folds[-1]}", "fit s (all folds)"):
        table.add_column(column, justify="right")
    for kind, row in results.items():
        table.add_row(kind, *(f"{row[f]:.4f}" for f in folds), f"{row['mean']:.4f}", f"{row['fit_s']:.0f}")
    console.print(table)
    cold_table = Table(title=f"Cold start: {HELD_OUT:.0%} of users / items held out entirely (RMSE)")
    for column in ("predictor", "held-out users", "held-out items"):
        cold_table.add_column(column, justify="right")
    for name in cold_results["user"]:
        cells = (
            f"{cold_results[s][name]:.0f}" if name == "n_test" else f"{cold_results[s][name]:.4f}"
            for s in ("user", "item")
        )
        cold_table.add_row(name, *cells)
    console.print(cold_table)

    checks = [("widedeep mean RMSE <= dot mean RMSE", results["widedeep"]["mean"], results["dot"]["mean"])]
    for side in ("user", "item"):
        for baseline in ("bias fallback", "popularity fallback"):
            checks.append(
                (
                    f"held-out {side}s: features only < {baseline}",
                    cold_results[side]["features only (widedeep)"],
                    cold_results[side][baseline],
                )
            )
    targets = Table(title=f"targets ({time.perf_counter() - start:.0f} s in all)")
    for column in ("figure", "measured", "bound", "ok"):
        targets.add_column(column)
    failed = 0
    for name, value, bound in checks:
        ok = value <= bound if name.startswith("widedeep") else value < bound
        failed += not ok
        targets.add_row(name, f"{value:.4f}", f"{bound:.4f}", "yes" if ok else "[red]NO[/]")
    console.print(targets)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
