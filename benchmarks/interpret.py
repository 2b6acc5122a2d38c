"""Interpretation figures: the taste map of a 50-factor dot model trained on MovieLens 100k u1.base.

Run: ``.venv/bin/python benchmarks/interpret.py [--data PATH] [--min-ratings 20] [--picture map.png]
[--save DIR]``. Trains with embrec's defaults (``TrainConfig()``, ``ModelConfig(kind="dot",
factors=50)``), maps the item factors of films with at least ``--min-ratings`` training ratings,
and prints the variance explained by PC1 and PC2 and the 10 titles at each end of both axes.
Exits non-zero when something is off: an explained variance outside (0, 1], PC2 above PC1,
ends that are not 10 distinct titles, map coordinates that differ from an SVD of the centred
factors, or explanation parts that do not add up to the predictions.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from embrec.artifacts.model_dir import save
from embrec.data.movielens import load_fold
from embrec.interpret.embedding_map import TasteMap, taste_map
from embrec.interpret.explanations import prediction_parts
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

ENDS = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    parser.add_argument("--min-ratings", type=int, default=20, help="films on the map: at least this many ratings")
    parser.add_argument("--picture", default=None, help="also draw the map (.png or .svg)")
    parser.add_argument("--save", default=None, help="also save the trained model directory here")
    args = parser.parse_args()
    console = Console()
    split = load_fold("u1", args.data)
    config = TrainConfig()
    start = time.perf_counter()
    model, resolved, _ = train_model(split.train, ModelConfig(kind="dot", factors=50), config)
    fit_s = time.perf_counter() - start
    recommender = Recommender.from_training(model, resolved, split.train, config)
    taste = taste_map(recommender, args.min_ratings, components=2, ends=ENDS)
    console.print(
        f"dot, 50 factors, u1.base ({len(split.train):,} ratings), TrainConfig() defaults, fit {fit_s:.1f} s; "
        f"map of {len(taste.items)} films with >= {args.min_ratings} ratings"
    )
    console.print(ends_table(taste))
    problems = check_map(taste, recommender) + check_parts(recommender, split.test.users, split.test.items)
    if args.picture:
        from embrec.interpret.plotting import item_coloring, render_taste_map

        picture = render_taste_map(taste, args.picture, coloring=item_coloring(recommender, taste.items, "genre"))
        console.print(f"wrote {picture.path} ({picture.labelled} labels, {picture.dropped} left out)")
    if args.save:
        save(recommender, args.save)
    for problem in problems:
        console.print(f"[red]FAIL[/] {problem}")
    if not problems:
        console.print("all checks passed")
    return 1 if problems else 0


def ends_table(taste: TasteMap) -> Table:
    table = Table(title="Taste map of the item factors: the 10 titles at each end of PC1 and PC2")
    table.add_column("#", justify="right")
    for axis in taste.axes:
        table.add_column(f"{axis.name} low ({axis.explained:.1%} of variance)")
        table.add_column(f"{axis.name} high")
    for rank in range(ENDS):
        table.add_row(str(rank + 1), *(title for axis in taste.axes for title in (axis.low[rank], axis.high[rank])))
    return table


def check_map(taste: TasteMap, recommender: Recommender) -> list[str]:
    problems = []
    explained = [axis.explained for axis in taste.axes]
    if not all(0.0 < e <= 1.0 for e in explained) or sum(explained) > 1.0 + 1e-9:
        problems.append(f"explained variance {explained} not in (0, 1]")
    if explained[1] > explained[0]:
        problems.append(f"PC2 explains more than PC1: {explained}")
    for axis in taste.axes:
        if len(set(axis.low)) != ENDS or len(set(axis.high)) != ENDS or set(axis.low) & set(axis.high):
            problems.append(f"{axis.name}: the ends are not {ENDS} distinct titles each")
    factors = recommender.item_factors()
    assert factors is not None
    centred = factors[taste.items].astype(np.float64) - factors[taste.items].astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    reference = u[:, :2] * s[:2]
    signs = np.sign((reference * taste.coords).sum(axis=0))
    gap = float(np.abs(reference * signs - taste.coords).max())
    if not gap < 1e-4:
        problems.append(f"map coordinates differ from the SVD of the centred factors by {gap:.2e}")
    return problems


def check_parts(recommender: Recommender, users: np.ndarray, items: np.ndarray) -> list[str]:
    split = prediction_parts(recommender, users, items)
    total = np.sum([split.parts[k].astype(np.float64) for k in split.parts], axis=0)
    logit_gap = float(np.abs(total - split.logit).max())
    predicted_gap = float(np.abs(split.prediction - recommender.predict_indices(users, items)).max())
    if not (logit_gap < 1e-5 and predicted_gap < 1e-5):
        return [f"explanation parts miss the prediction: logit by {logit_gap:.2e}, rating by {predicted_gap:.2e}"]
    return []


if __name__ == "__main__":
    sys.exit(main())
