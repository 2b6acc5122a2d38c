"""``embrec wd-sweep``: validation RMSE per epoch and embedding norms for several weight decays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from embrec.cli.common import (
    ColumnsOpt,
    DataOpt,
    DuplicatesOpt,
    FoldOpt,
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
    print_json,
    split_spec,
)
from embrec.cli.interpret_common import HeightOpt, WidthOpt, check_picture_path, picture_size
from embrec.data.sources import load_split
from embrec.interpret.plotting import SWEEP_SIZE, render_weight_decay
from embrec.interpret.wd_sweep import SweepRun, weight_decay_sweep
from embrec.models import MODELS, ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord

DEFAULTS = TrainConfig()


@friendly_errors
def wd_sweep(
    wd: Annotated[str, typer.Option("--wd", help="Weight decays to compare, e.g. 0,0.01,0.1,0.3.")] = "0,0.01,0.1,0.3",
    out: Annotated[Path | None, typer.Option("--out", help="Picture to write: wd.png or .svg.")] = None,
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
    model: Annotated[str, typer.Option("--model", help="dot or nn (a model trained by gradient descent).")] = "dot",
    factors: Annotated[int, typer.Option("--factors")] = ModelConfig.factors,
    epochs: Annotated[int, typer.Option("--epochs")] = DEFAULTS.epochs,
    lr: Annotated[float, typer.Option("--lr")] = DEFAULTS.lr,
    batch_size: Annotated[int, typer.Option("--batch-size")] = DEFAULTS.batch_size,
    valid_fraction: Annotated[
        float, typer.Option("--valid-fraction", help="Validation share carved from the training part.")
    ] = 0.1,
    seed: SeedOpt = 0,
    width: WidthOpt = None,
    height: HeightOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Train one model per weight decay on the training part (validation carved from it): the over-fitting picture."""
    check_picture_path(out)
    decays = _floats(wd)
    if model not in MODELS or model in ("bias", "mean", "bmf"):
        raise typer.BadParameter("--model must be a model trained by gradient descent, e.g. dot or nn")
    size = picture_size(width, height, SWEEP_SIZE)
    spec = data_spec(data, fmt, columns, sep, scale, duplicates, items)
    train = load_split(spec, split_spec(split, fold, test_fraction, seed, fmt)).train
    config = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    with Progress(console=console, disable=quiet or json_out) as bar:
        task = bar.add_task("wd sweep", total=len(decays) * epochs)

        def on_epoch(weight_decay: float, record: EpochRecord) -> None:
            bar.update(task, advance=1, description=f"wd {weight_decay:g} epoch {record.epoch}")

        runs = weight_decay_sweep(
            train, decays, ModelConfig(kind=model, factors=factors), config, valid_fraction, on_epoch
        )
    picture = (
        render_weight_decay(runs, out, size[0], size[1], f"{model}, {factors} factors, {train.name}") if out else None
    )
    if json_out:
        print_json(
            {"data": train.name, "runs": [r.to_json() for r in runs], "picture": str(picture) if picture else None}
        )
        return
    console.print(sweep_table(runs))
    if picture is not None:
        console.print(f"wrote {picture} ({size[0]}x{size[1]} px)")


def sweep_table(runs: list[SweepRun]) -> Table:
    """Per weight decay: best and last validation RMSE and the embedding norms."""
    names = sorted({name for run in runs for name in run.norms})
    table = Table(title="weight decay sweep (validation carved from the training part)")
    for column in ("wd", "best valid RMSE", "best epoch", "last valid RMSE", *(f"|{n}|" for n in names)):
        table.add_column(column, justify="right")
    for run in runs:
        norms = (f"{run.norms.get(n, 0.0):.3f}" for n in names)
        best, last = min(run.valid_rmse), run.valid_rmse[-1]
        table.add_row(f"{run.weight_decay:g}", f"{best:.4f}", str(run.best_epoch), f"{last:.4f}", *norms)
    return table


def _floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"--wd takes numbers separated by commas, not {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise typer.BadParameter("--wd needs at least one non-negative weight decay")
    return values
