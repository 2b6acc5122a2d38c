"""``embrec demo`` (what ``make demo`` runs): the whole path on MovieLens 100k fold u1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from embrec.artifacts.model_dir import save
from embrec.cli.common import DataOpt, console, friendly_errors, items_table, metrics_table
from embrec.cli.train import training_progress
from embrec.data.movielens import load_fold
from embrec.evaluation.protocol import evaluate
from embrec.interpret.biases import BiasEntry, extreme_item_biases
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model


@friendly_errors
def demo(
    data: DataOpt = None,
    user: Annotated[str, typer.Option("--user", help="Sample user for the top-10.")] = "1",
    out: Annotated[Path, typer.Option("--out", help="Where to save the trained dot model.")] = Path("runs/demo-dot"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Train the dot-product model on u1.base, compare it with the bias baseline on u1.test."""
    split = load_fold("u1", data)
    console.print(f"MovieLens 100k fold u1: {len(split.train):,} training and {len(split.test):,} test ratings")
    config = TrainConfig()
    rows: dict[str, dict[str, Any]] = {}
    recommenders: dict[str, Recommender] = {}
    for kind in ("bias", "dot"):
        with training_progress(quiet or kind == "bias", config.epochs) as on_epoch:
            model, resolved, history = train_model(split.train, ModelConfig(kind=kind), config, on_epoch=on_epoch)
        recommenders[kind] = Recommender.from_training(model, resolved, split.train, config)
        rows[kind] = evaluate(recommenders[kind], split.test) | {"fit seconds": history.seconds}
    console.print(metrics_table("u1.test", rows, ("rmse", "mae", "ndcg@10", "precision@10", "fit seconds")))
    dot = recommenders["dot"]
    dot.info |= {"split": "u1", "metrics": rows["dot"]}
    save(dot, out)
    top = dot.recommend(user, 10)
    console.print(items_table(f"top 10 for user {user} (films they have not rated)", top, "predicted"))
    lowest, highest = extreme_item_biases(dot, 5, min_ratings=20)
    console.print(_bias_table("highest item bias: liked more than tastes predict", highest))
    console.print(_bias_table("lowest item bias: liked less than tastes predict", lowest))
    console.print(f"model saved to {out}; try: embrec recommend {out} --user 42")


def _bias_table(title: str, entries: list[BiasEntry]) -> Table:
    table = Table(title=f"{title} (films with >= 20 ratings)")
    table.add_column("title")
    table.add_column("bias", justify="right")
    table.add_column("ratings", justify="right")
    for entry in entries:
        table.add_row(entry.label, f"{entry.bias:+.3f}", str(entry.n_ratings))
    return table
