"""``embrec evaluate`` (a saved model on a split's test part) and ``embrec cv`` (u1..u5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from embrec.artifacts.model_dir import load
from embrec.cli.common import (
    ColumnsOpt,
    DataOpt,
    DuplicatesOpt,
    FoldOpt,
    FormatOpt,
    ItemsOpt,
    JsonOpt,
    KOpt,
    ScaleOpt,
    SeedOpt,
    SepOpt,
    SplitOpt,
    TestFractionOpt,
    console,
    data_spec,
    errors,
    friendly_errors,
    metric_keys,
    metrics_table,
    print_json,
    split_spec,
)
from embrec.cli.train import DEFAULTS, kind_defaults, training_progress
from embrec.data.sources import SplitSpec, load_ratings, load_split
from embrec.evaluation.cross_validation import cross_validate
from embrec.evaluation.protocol import evaluate as evaluate_model
from embrec.models import MODELS, ModelConfig
from embrec.training.config import TrainConfig


@friendly_errors
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="Model directory written by embrec train.")],
    data: DataOpt = None,
    fmt: FormatOpt = "movielens",
    fold: FoldOpt = "u1",
    split: SplitOpt = "fold",
    test_fraction: TestFractionOpt = 0.2,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    scale: ScaleOpt = None,
    duplicates: DuplicatesOpt = "error",
    items: ItemsOpt = None,
    seed: SeedOpt = 0,
    k: KOpt = 10,
    json_out: JsonOpt = False,
) -> None:
    """Rating and ranking metrics of a saved model on a split's test part."""
    recommender = load(model_dir)
    spec = data_spec(data, fmt, columns, sep, scale, duplicates, items)
    the_split = load_split(spec, split_spec(split, fold, test_fraction, seed, fmt))
    test = the_split.test
    if test.item_ids.ids != recommender.item_ids.ids or test.user_ids.ids != recommender.user_ids.ids:
        raise ValueError("the data's users or items differ from the model's: evaluate on the data it was trained on")
    if recommender.info.get("data_fingerprint") not in (None, the_split.train.fingerprint()):
        errors.print("[yellow]warning:[/] the model was trained on other data than this split's training part")
    metrics = evaluate_model(recommender, the_split.test, k)
    if json_out:
        print_json(metrics)
        return
    kind = recommender.model_config.kind
    console.print(metrics_table(f"{kind} on {the_split.name}", {kind: metrics}, metric_keys(k)))


@friendly_errors
def cv(
    data: DataOpt = None,
    folds: Annotated[str, typer.Option("--folds", help="Comma-separated canonical folds.")] = "u1,u2,u3,u4,u5",
    model: Annotated[str, typer.Option("--model")] = "dot",
    factors: Annotated[int, typer.Option("--factors")] = ModelConfig.factors,
    epochs: Annotated[int, typer.Option("--epochs")] = DEFAULTS.epochs,
    lr: Annotated[float, typer.Option("--lr")] = DEFAULTS.lr,
    wd: Annotated[float, typer.Option("--wd")] = DEFAULTS.weight_decay,
    batch_size: Annotated[int, typer.Option("--batch-size")] = DEFAULTS.batch_size,
    seed: SeedOpt = 0,
    k: KOpt = 10,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Cross-validate a model over canonical MovieLens folds: each fold's metrics, mean and std.

    Settings left at the library-wide defaults take the model kind's own, as in ``embrec train``.
    """
    spec = data_spec(data, "movielens", None, None, None, "error", None)
    full = load_ratings(spec)
    splits = [load_split(spec, SplitSpec("fold", f.strip()), full) for f in folds.split(",") if f.strip()]
    if model not in MODELS:
        raise typer.BadParameter(f"--model must be one of {', '.join(MODELS)}")
    config = TrainConfig(epochs=epochs, lr=lr, weight_decay=wd, batch_size=batch_size, seed=seed)
    model_config, config = kind_defaults(ModelConfig(kind=model, factors=factors), config)
    keys = metric_keys(k)

    def on_fold(name: str, report: dict[str, Any]) -> None:
        if not (quiet or json_out):
            console.print(f"{name}: RMSE {report['rmse']:.4f}  NDCG@{k} {report[f'ndcg@{k}']:.4f}")

    result = cross_validate(splits, model_config, config, k, on_fold=on_fold)
    if json_out:
        print_json(result.to_json())
        return
    summary = result.summary()
    rows = dict(result.folds) | {
        "mean": {key: summary[key]["mean"] for key in keys if key in summary},
        "std": {key: summary[key]["std"] for key in keys if key in summary},
    }
    console.print(metrics_table(f"{model}: cross-validation", rows, keys))


__all__ = ["cv", "evaluate", "training_progress"]
