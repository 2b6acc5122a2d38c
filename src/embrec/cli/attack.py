"""``embrec attack``: inject fake profiles pushing one item, retrain, report the damage and the defences."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.table import Table

from embrec.cli.audit import progress_status
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
    friendly_errors,
    print_json,
    split_spec,
)
from embrec.cli.train import DEFAULTS, kind_defaults
from embrec.data.sources import load_split
from embrec.influence.attacks import ATTACK_KINDS, AttackKind, AttackSpec, item_index
from embrec.influence.mitigation import DEFAULT_CAP, Mitigation
from embrec.influence.simulation import AttackReport, simulate_attack
from embrec.models import ModelConfig


@friendly_errors
def attack(
    target: Annotated[str, typer.Option("--target", help="Item to push: raw id or exact title.")],
    kind: Annotated[str, typer.Option("--kind", help=f"{' | '.join(ATTACK_KINDS)}.")] = "average",
    profiles: Annotated[str, typer.Option("--profiles", help="Fake profiles: share of the users, e.g. 3%.")] = "3%",
    filler: Annotated[str, typer.Option("--filler", help="Filler items per profile: share of the catalog.")] = "5%",
    popular: Annotated[int, typer.Option("--popular", help="Bandwagon: most popular items rated top.")] = 5,
    mitigation: Annotated[
        list[str] | None,
        typer.Option("--mitigation", help="none | drop_flagged | inverse_sqrt | cap, or a+b; repeat for several."),
    ] = None,
    cap: Annotated[float, typer.Option("--cap", help="Total weight cap per user (ratings) for cap.")] = DEFAULT_CAP,
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
    model: Annotated[str, typer.Option("--model")] = "dot",
    factors: Annotated[int, typer.Option("--factors")] = ModelConfig.factors,
    epochs: Annotated[int, typer.Option("--epochs")] = DEFAULTS.epochs,
    batch_size: Annotated[int, typer.Option("--batch-size")] = DEFAULTS.batch_size,
    seed: SeedOpt = 0,
    k: KOpt = 10,
    json_out: JsonOpt = False,
) -> None:
    """Simulate a shilling attack: the target's hit ratio@k among real users before and after.

    Trains the model on the split's training part, then on it plus the fake profiles, then once per
    --mitigation; RMSE and NDCG@k on the split's test part show each variant's cost.
    """
    if kind not in ATTACK_KINDS:
        raise typer.BadParameter(f"--kind must be one of {', '.join(ATTACK_KINDS)}, not {kind!r}")
    spec_data = data_spec(data, fmt, columns, sep, scale, duplicates, items)
    the_split = load_split(spec_data, split_spec(split, fold, test_fraction, seed, fmt))
    kind_literal: AttackKind = kind
    shares = _share(profiles, "--profiles"), _share(filler, "--filler")
    spec = AttackSpec(kind_literal, item_index(the_split.train, target), *shares, popular=popular, seed=seed)
    mitigations = [Mitigation.parse(m, cap) for m in (mitigation or []) if m.strip() != "none"]
    config = replace(DEFAULTS, epochs=epochs, batch_size=batch_size, seed=seed)
    model_config, config = kind_defaults(ModelConfig(kind=model, factors=factors), config)
    with progress_status("training", quiet=json_out) as on_step:
        report = simulate_attack(the_split, spec, model_config, config, mitigations, k, on_step=on_step)
    if json_out:
        print_json(report.to_json() | {"target_title": the_split.train.title(spec.target)})
        return
    _print(report, the_split.train.title(spec.target), k)


def _share(text: str, option: str) -> float:
    """``3%`` or ``0.03`` as a share."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise typer.BadParameter(f"{option} takes a share like 3% or 0.03, not {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise typer.BadParameter(f"{option} must be above 0% and at most 100%")
    return value


def _print(report: AttackReport, title: str, k: int) -> None:
    spec = report.spec
    console.print(
        f"{spec.kind} attack on [bold]{title}[/] ({report.target_ratings} real ratings): {report.profiles} fake "
        f"profiles, {report.filler} filler items each"
    )
    table = Table(title=f"the target among real users who have not rated it (top-{k})")
    for column in ("variant", f"hit ratio@{k}", "mean rank", "median rank", "RMSE", f"NDCG@{k}", "dropped"):
        table.add_column(column, justify="right")
    for variant in (report.before, report.after, *report.mitigated):
        reach = variant.reach
        table.add_row(
            variant.name, f"{reach.hit_ratio:.3f}", f"{reach.mean_rank:.0f}", f"{reach.median_rank:.0f}",
            f"{variant.rmse:.4f}", f"{variant.ndcg or 0.0:.4f}", _count(variant.dropped),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"detection on the attacked data: {report.flagged} flagged, precision {report.precision:.3f}, "
        f"recall {report.recall:.3f}"
    )


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
