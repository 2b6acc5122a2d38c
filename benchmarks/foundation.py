"""Foundation figures: accuracy of dot/nn/bias on MovieLens 100k folds, fit time, top-N time.

Run: ``make bench`` or ``.venv/bin/python benchmarks/foundation.py [--data PATH]``. Prints a table
and exits non-zero when a target is missed. Every model uses embrec's defaults
(``TrainConfig()``, ``ModelConfig(kind=...)``), the same on every fold.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from embrec.data.movielens import load_fold, load_movielens
from embrec.evaluation.protocol import evaluate
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

FOLDS = ("u1", "u2", "u3", "u4", "u5")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    args = parser.parse_args()
    full = load_movielens(args.data)
    splits = {fold: load_fold(fold, args.data, full) for fold in FOLDS}
    config = TrainConfig()
    results: dict[str, dict[str, float]] = {}
    recommenders: dict[str, Recommender] = {}
    for kind in ("bias", "dot", "nn"):
        folds = FOLDS if kind != "nn" else ("u1",)
        for fold in folds:
            model, resolved, history = train_model(splits[fold].train, ModelConfig(kind=kind), config)
            rec = Recommender.from_training(model, resolved, splits[fold].train, config)
            metrics = evaluate(rec, splits[fold].test)
            results.setdefault(kind, {})[f"rmse_{fold}"] = metrics["rmse"]
            if fold == "u1":
                results[kind] |= {"ndcg@10": metrics["ndcg@10"], "fit_s": history.seconds}
                results[kind]["epochs"] = len(history.epochs)
                recommenders[kind] = rec
        rmses = [results[kind][f"rmse_{f}"] for f in folds]
        results[kind]["rmse_mean"] = statistics.mean(rmses)
    dot = recommenders["dot"]
    dot.top_n(np.arange(dot.n_users), 10)  # warm-up
    top_times = []
    for _ in range(5):
        start = time.perf_counter()
        dot.top_n(np.arange(dot.n_users), 10)
        top_times.append(time.perf_counter() - start)
    top_ms = 1000 * min(top_times)

    bias_u1 = results["bias"]["rmse_u1"]
    checks = [
        ("dot RMSE u1.test", results["dot"]["rmse_u1"], "<=", 0.915),
        ("dot RMSE mean u1..u5", results["dot"]["rmse_mean"], "<=", 0.905),
        ("nn RMSE u1.test", results["nn"]["rmse_u1"], "<=", 0.930),
        ("dot beats bias on u1 by >= 0.02", bias_u1 - results["dot"]["rmse_u1"], ">=", 0.02),
        ("nn beats bias on u1 by >= 0.02", bias_u1 - results["nn"]["rmse_u1"], ">=", 0.02),
        ("dot fit seconds on u1.base", results["dot"]["fit_s"], "<", 10.0),
        ("top-10 for all 943 users, ms", top_ms, "<", 100.0),
    ]
    console = Console()
    table = Table(title="embrec foundation on MovieLens 100k (defaults: " + _describe(config) + ")")
    for column in ("model", "RMSE u1", "RMSE mean u1..u5", "NDCG@10 u1", "fit s (u1)", "epochs"):
        table.add_column(column, justify="right")
    for kind, row in results.items():
        table.add_row(
            kind, f"{row['rmse_u1']:.4f}", f"{row['rmse_mean']:.4f}" if kind != "nn" else "-",
            f"{row['ndcg@10']:.4f}", f"{row['fit_s']:.2f}", str(row["epochs"]),
        )  # fmt: skip
    console.print(table)
    targets = Table(title="targets")
    for column in ("figure", "measured", "target", "ok"):
        targets.add_column(column)
    failed = 0
    for name, value, op, bound in checks:
        ok = value <= bound if op == "<=" else value >= bound if op == ">=" else value < bound
        failed += not ok
        targets.add_row(name, f"{value:.4f}", f"{op} {bound}", "yes" if ok else "[red]NO[/]")
    console.print(targets)
    return 1 if failed else 0


def _describe(config: TrainConfig) -> str:
    return (
        f"{config.optimizer}, lr {config.lr}, wd {config.weight_decay} ({config.decay}), "
        f"{config.epochs} epochs, batch {config.batch_size}"
    )


if __name__ == "__main__":
    sys.exit(main())
