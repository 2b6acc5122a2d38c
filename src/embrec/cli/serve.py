"""``embrec serve`` (the HTTP service and web page) and ``embrec retrain`` (a new version from the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embrec.artifacts.model_dir import load, save
from embrec.cli.common import (
    ColumnsOpt,
    DataOpt,
    DuplicatesOpt,
    FormatOpt,
    ItemsOpt,
    JsonOpt,
    ScaleOpt,
    SeedOpt,
    SepOpt,
    SplitOpt,
    TestFractionOpt,
    console,
    data_spec,
    friendly_errors,
    metric_keys,
    metrics_table,
    print_json,
    split_spec,
)
from embrec.cli.train import training_progress
from embrec.data.movielens import FOLDS
from embrec.data.sources import load_split
from embrec.evaluation.protocol import evaluate
from embrec.recommend.recommender import Recommender
from embrec.serving.ratings_store import DEFAULT_URL, RatingsStore
from embrec.serving.retrain import merge_store
from embrec.serving.rollout import reindex
from embrec.serving.service import Settings
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

StoreOpt = Annotated[str, typer.Option("--store", help="SQLAlchemy URL of the ratings store.")]


@friendly_errors
def serve(
    models: Annotated[Path, typer.Argument(help="A model directory, or a registry folder of versions.")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    store: StoreOpt = DEFAULT_URL,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body in bytes (413 above).")] = 1 << 20,
    threads: Annotated[int, typer.Option("--threads", help="PyTorch threads per request.")] = 1,
    list_cache_mb: Annotated[
        float, typer.Option("--list-cache-mb", help="MiB of lists kept for repeated /recommendations (0: none).")
    ] = Settings.list_cache_mb,
) -> None:
    """Serve recommendations over HTTP (API docs at /docs, the web page at /)."""
    import torch
    import uvicorn

    from embrec.serving.app import create_app

    torch.set_num_threads(threads)
    app = create_app(models, store, Settings(max_body_bytes=max_body, list_cache_mb=list_cache_mb))
    console.print(f"embrec serving {models} on http://{host}:{port} (store {store}); Ctrl-C stops")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@friendly_errors
def retrain(
    base: Annotated[Path, typer.Option("--base", help="The model directory to start from (configs, data).")],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    store: StoreOpt = DEFAULT_URL,
    data: DataOpt = None,
    fmt: FormatOpt = "movielens",
    fold: Annotated[str | None, typer.Option("--fold", help="Default: the fold the base was trained on.")] = None,
    split: SplitOpt = "fold",
    test_fraction: TestFractionOpt = 0.2,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    scale: ScaleOpt = None,
    duplicates: DuplicatesOpt = "error",
    items: ItemsOpt = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Default: the base's.")] = None,
    seed: SeedOpt = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Train a new version on the base model's training data plus every rating in the store."""
    previous = load(base)
    fold = fold or str(previous.info.get("split", "u1"))
    the_split = load_split(
        data_spec(data, fmt, columns, sep, scale, duplicates, items),
        split_spec(split, fold if fold in FOLDS else "u1", test_fraction, seed, fmt),
    )
    expected = previous.info.get("data_fingerprint")
    if expected and expected != the_split.train.fingerprint():
        raise ValueError(f"the data given is not what {base} was trained on; pass the same data and split options")
    merged, counts = merge_store(the_split.train, RatingsStore(store).ratings())
    config = previous.train_config or TrainConfig()
    if epochs is not None:
        config = TrainConfig.from_json(config.to_json() | {"epochs": epochs})
    with training_progress(quiet or json_out, config.epochs) as on_epoch:
        model, resolved, _ = train_model(merged, previous.model_config, config, on_epoch=on_epoch)
    recommender = Recommender.from_training(model, resolved, merged, config)
    metrics = evaluate(recommender, reindex(the_split.test, recommender), k=10)
    recommender.info |= {"split": the_split.name, "metrics": metrics, "retrained_from": str(base), "merged": counts}
    save(recommender, out)
    if json_out:
        print_json({"out": str(out), "merged": counts, "metrics": metrics})
        return
    console.print(metrics_table(f"retrained on {merged.name}", {"retrained": metrics}, metric_keys(10)))
    console.print(
        f"{counts['original']} original + {counts['store']} stored ratings ({counts['new_users']} new users, "
        f"{counts['store_unknown_items']} ratings of unknown items dropped); saved to {out}"
    )
