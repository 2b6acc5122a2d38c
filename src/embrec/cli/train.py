"""``embrec train``: fit a model on a split's training part, evaluate it, save the directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from embrec.artifacts.model_dir import save
from embrec.cli.common import (
    ColumnsOpt,
    DataOpt,
    DuplicatesOpt,
    FoldOpt,
    FormatOpt,
    ItemsOpt,
    ScaleOpt,
    SeedOpt,
    SepOpt,
    SplitOpt,
    TestFractionOpt,
    _choice,
    console,
    data_spec,
    friendly_errors,
    metric_keys,
    metrics_table,
    print_json,
    split_spec,
)
from embrec.cli.workers import (
    DEFAULT_WORKER_TIMEOUT,
    CheckpointEveryOpt,
    CheckpointOpt,
    ResumeOpt,
    WorkersOpt,
    WorkerTimeoutOpt,
    checkpoints,
    launches,
    relaunch,
)
from embrec.data.feature_declarations import declare_features
from embrec.data.sources import load_split
from embrec.evaluation.protocol import evaluate
from embrec.influence.mitigation import USER_WEIGHTINGS, user_weights
from embrec.models import MODELS, ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import Objective, Sampling, TrainConfig
from embrec.training.distributed import fingerprint, fit_hooks, process_group
from embrec.training.loop import EpochRecord, train_model

DEFAULTS = TrainConfig()


@friendly_errors
def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
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
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Side features of widedeep: movielens (its default on MovieLens), a TOML file, or inline, "
            "e.g. users=users.csv,user.age:bucket,item.genres:multi_hot,age*genres.",
        ),
    ] = None,
    model: Annotated[str, typer.Option("--model", help=f"One of: {', '.join(MODELS)}.")] = "dot",
    factors: Annotated[int, typer.Option("--factors")] = ModelConfig.factors,
    layers: Annotated[str, typer.Option("--layers", help="MLP widths of nn/widedeep, e.g. 128,64.")] = ",".join(
        map(str, ModelConfig.layers)
    ),
    dropout: Annotated[float, typer.Option("--dropout")] = ModelConfig.dropout,
    y_range: Annotated[str | None, typer.Option("--y-range", help="Output range LO,HI (default: from scale).")] = None,
    epochs: Annotated[int, typer.Option("--epochs")] = DEFAULTS.epochs,
    lr: Annotated[float, typer.Option("--lr")] = DEFAULTS.lr,
    wd: Annotated[float, typer.Option("--wd", help="Weight decay (L2) strength.")] = DEFAULTS.weight_decay,
    penalty_alpha: Annotated[
        float, typer.Option("--penalty-alpha", help="Row L2 scaled by count^-alpha: 0 per-example, 1 per-row.")
    ] = DEFAULTS.penalty_alpha,
    bias_wd: Annotated[float, typer.Option("--bias-wd", help="L2 strength of the biases.")] = DEFAULTS.bias_decay,
    threads: Annotated[int, typer.Option("--threads", help="torch threads while training.")] = DEFAULTS.threads or 1,
    sparse: Annotated[
        bool, typer.Option("--sparse", help="Sparse table gradients, lazy Adam on used rows (large catalogs).")
    ] = DEFAULTS.sparse,
    optimizer: Annotated[str, typer.Option("--optimizer", help="adam | adamw | sgd.")] = DEFAULTS.optimizer,
    schedule: Annotated[str, typer.Option("--schedule", help="one_cycle | constant.")] = DEFAULTS.schedule,
    batch_size: Annotated[int, typer.Option("--batch-size")] = DEFAULTS.batch_size,
    patience: Annotated[int | None, typer.Option("--patience", help="Early stopping patience (epochs).")] = None,
    valid_fraction: Annotated[float, typer.Option("--valid-fraction", help="Validation share of train.")] = 0.0,
    objective: Annotated[
        str, typer.Option("--objective", help="mse (ratings) | bpr | softmax (rank positives above unrated items).")
    ] = DEFAULTS.objective,
    negatives: Annotated[
        int | None, typer.Option("--negatives", help="Sampled negatives per positive (default: every unrated item).")
    ] = DEFAULTS.negatives,
    sampling: Annotated[str, typer.Option("--sampling", help="uniform | popularity (negatives).")] = DEFAULTS.sampling,
    positive_threshold: Annotated[
        float | None, typer.Option("--positive-threshold", help="Positives: ratings >= this (default 0.8 * max).")
    ] = DEFAULTS.positive_threshold,
    user_weighting: Annotated[
        str, typer.Option("--user-weighting", help="Per-user loss weights: none | inverse_sqrt | cap (100 ratings).")
    ] = "none",
    seed: SeedOpt = 0,
    workers: WorkersOpt = 1,
    checkpoint: CheckpointOpt = None,
    checkpoint_every: CheckpointEveryOpt = 1,
    resume: ResumeOpt = False,
    worker_timeout: WorkerTimeoutOpt = DEFAULT_WORKER_TIMEOUT,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train a model and save it as a directory (safetensors weights + JSON manifest)."""
    if model == "bmf" and (workers > 1 or checkpoint is not None or resume):
        raise typer.BadParameter("--model bmf samples in one process: no --workers, --checkpoint or --resume")
    if launches(workers):
        relaunch(ctx, workers)
    spec = data_spec(data, fmt, columns, sep, scale, duplicates, items)
    the_split = load_split(spec, split_spec(split, fold, test_fraction, seed, fmt))
    declared = declare_features(features, model, fmt)
    the_split = declared.attach(the_split) if declared is not None else the_split
    model_config = ModelConfig(
        kind=model, factors=factors, layers=_ints(layers), dropout=dropout, y_range=_pair(y_range, "--y-range"),
        features=declared.features.to_json() if declared is not None else None,
    )  # fmt: skip
    if model not in MODELS:
        raise typer.BadParameter(f"--model must be one of {', '.join(MODELS)}")
    config = TrainConfig(
        epochs=epochs, lr=lr, weight_decay=wd, batch_size=batch_size, optimizer=optimizer,  # type: ignore[arg-type]
        schedule=schedule, seed=seed, patience=patience, valid_fraction=valid_fraction,  # type: ignore[arg-type]
        penalty_alpha=penalty_alpha, bias_decay=bias_wd, threads=threads, sparse=sparse,
        objective=_choice(objective, get_args(Objective), "--objective"), negatives=negatives,
        sampling=_choice(sampling, get_args(Sampling), "--sampling"), positive_threshold=positive_threshold,
    )  # fmt: skip
    model_config, config = kind_defaults(model_config, config)
    if user_weighting not in USER_WEIGHTINGS:
        raise typer.BadParameter(f"--user-weighting must be one of {', '.join(USER_WEIGHTINGS)}")
    weights = None if user_weighting == "none" else user_weights(the_split.train, user_weighting)
    saving = checkpoints(checkpoint, checkpoint_every, resume)
    with process_group(worker_timeout) as process:  # None unless started by torchrun
        hooks = fit_hooks(process, saving, lambda: fingerprint(the_split.train, model_config, config))
        rank = 0 if process is None else process.rank
        with training_progress(quiet or json_out or rank > 0, config.epochs) as on_epoch:
            fitted, resolved, history = train_model(
                the_split.train, model_config, config, on_epoch=on_epoch, weights=weights, hooks=hooks
            )
    if rank > 0:  # rank 0 evaluates and writes the model directory
        return
    recommender = Recommender.from_training(fitted, resolved, the_split.train, config)
    metrics = evaluate(recommender, the_split.test, k=10)
    recommender.info |= {"split": the_split.name, "metrics": metrics, "history": history.to_json()}
    save(recommender, out)
    if json_out:
        print_json({"model": model, "out": str(out), "metrics": metrics, "fit_seconds": history.seconds})
        return
    console.print(metrics_table(f"{model} on {the_split.name}", {model: metrics}, metric_keys(10)))
    console.print(f"trained in {history.seconds:.1f} s ({len(history.epochs)} epochs); saved to {out}")


def kind_defaults(model_config: ModelConfig, config: TrainConfig) -> tuple[ModelConfig, TrainConfig]:
    """Settings at the library-wide defaults take the model kind's own (``ModelSpec``), e.g.
    ``--model autorec`` trains 400 whole-data steps; any other value given stays. (A value
    typed equal to the global default counts as left alone.)"""
    spec = MODELS[model_config.kind]
    base = ModelConfig()
    model_values = {k: v for k, v in spec.model_defaults.items() if getattr(model_config, k) == getattr(base, k)}
    train_values = {k: v for k, v in spec.train_defaults.items() if getattr(config, k) == getattr(DEFAULTS, k)}
    return replace(model_config, **model_values), replace(config, **train_values)


@contextmanager
def training_progress(quiet: bool, epochs: int) -> Iterator[Callable[[EpochRecord], None] | None]:
    """A rich progress bar fed by the training loop's epoch callback (nothing when quiet)."""
    if quiet:
        yield None
        return
    columns = (TextColumn("epoch {task.completed}/{task.total}"), BarColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("train", total=epochs, status="")

        def on_epoch(record: EpochRecord) -> None:
            status = f"train loss {record.train_loss:.4f}"
            if record.valid_rmse is not None:
                status += f"  valid RMSE {record.valid_rmse:.4f}"
            bar.update(task, completed=record.epoch, status=status)

        yield on_epoch


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"--layers takes widths like 128,64, not {text!r}") from None


def _pair(text: str | None, option: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{option} takes LO,HI, not {text!r}") from None
    return (lo, hi)
