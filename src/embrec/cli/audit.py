"""``embrec audit``: how concentrated a saved model's signal and lists are, and which groups steer them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

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
    friendly_errors,
    print_json,
    split_spec,
)
from embrec.data.ratings import Ratings
from embrec.data.sources import load_split
from embrec.influence.audit import Audit, user_factors
from embrec.influence.audit import audit as run_audit
from embrec.influence.groups import UserGroup, activity_groups, attribute_groups, cluster_groups
from embrec.influence.report import write_report
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig

GroupsOpt = Annotated[
    str,
    typer.Option(
        "--groups",
        help="Comma-separated: activity (top 1% and 5% most active), cluster (k-means on user factors), "
        "or a user attribute column such as occupation (its 3 largest values). Empty: no group influence.",
    ),
]


@friendly_errors
def audit(
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
    groups: GroupsOpt = "activity,cluster,occupation",
    clusters: Annotated[int, typer.Option("--clusters", help="Number of taste clusters.")] = 4,
    retrain_epochs: Annotated[
        int, typer.Option("--retrain-epochs", help="Epochs of each cheap retraining (0: no group influence).")
    ] = 5,
    k: KOpt = 10,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report: report.html or report.png.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Concentration of the training signal and of the top-k lists; influence of user groups.

    Group influence retrains the model without each group (with the model's own settings but only
    --retrain-epochs epochs) and compares everyone else's lists with a reference retrained the same way.
    """
    if out is not None and out.suffix.lower() not in (".png", ".html", ".htm"):
        raise typer.BadParameter(f"--out must end in .png or .html, not {out.name!r}")
    recommender = load(model_dir)
    spec = data_spec(data, fmt, columns, sep, scale, duplicates, items)
    train = load_split(spec, split_spec(split, fold, test_fraction, seed, fmt)).train
    if train.item_ids.ids != recommender.item_ids.ids or train.user_ids.ids != recommender.user_ids.ids:
        raise ValueError("the data's users or items differ from the model's: audit it on the data it was trained on")
    if recommender.info.get("data_fingerprint") not in (None, train.fingerprint()):
        console.print("[yellow]warning:[/] the model was trained on other data than this split's training part")
    chosen = _groups(groups, recommender, train, clusters, seed) if retrain_epochs > 0 else []
    config = replace(recommender.train_config or TrainConfig(), epochs=max(retrain_epochs, 1))
    with progress_status("retraining", quiet=json_out or not chosen) as on_step:
        result = run_audit(recommender, train, chosen, config, k, on_step=on_step)
    if out is not None:
        write_report(result, out, f"influence audit of {model_dir.name}")
    if json_out:
        print_json(result.to_json() | {"report": str(out) if out else None})
        return
    _print(result)
    if out is not None:
        console.print(f"report written to {out}")


@contextmanager
def progress_status(label: str, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner showing ``label: <step>`` (a no-op callback when quiet)."""
    if quiet:
        yield lambda _step: None
        return
    with console.status(label) as status:
        yield lambda step: status.update(f"{label}: {step}")


def _groups(text: str, recommender: Recommender, train: Ratings, clusters: int, seed: int) -> list[UserGroup]:
    chosen: list[UserGroup] = []
    for name in (t.strip() for t in text.split(",") if t.strip()):
        if name == "activity":
            chosen += activity_groups(train, (0.01, 0.05))
        elif name == "cluster":
            factors = user_factors(recommender)
            if factors is None:
                raise ValueError(f"a {recommender.model_config.kind!r} model has no user factors to cluster")
            chosen += cluster_groups(factors, np.flatnonzero(train.user_counts() > 0), clusters, seed)
        else:
            chosen += attribute_groups(train, name)
    return chosen


def _print(result: Audit) -> None:
    signal, lists = result.signal, result.lists
    table = Table(title="concentration", show_header=False)
    table.add_row(
        "ratings / users with ratings / items", f"{signal.n_ratings} / {signal.active_users} / {signal.n_items}"
    )
    for key, value in signal.top_user_share.items():
        table.add_row(f"share of ratings from the top {key} most active users", f"{value:.1%}")
    table.add_row("Gini of user activity", f"{signal.gini_users:.3f}")
    table.add_row("Gini of item popularity", f"{signal.gini_items:.3f}")
    table.add_row(f"catalog coverage of the top-{lists.k} lists", f"{lists.coverage:.1%}")
    table.add_row(f"Gini of top-{lists.k} slots per item", f"{lists.gini:.3f}")
    table.add_row("share of slots taken by the 1% most shown items", f"{lists.top_item_share:.1%}")
    console.print(table)
    influence = result.influence
    if influence is None:
        return
    groups = Table(
        title=f"group influence (retrained {influence.epochs} epochs; seed noise overlap {influence.noise_overlap:.3f})"
    )
    for column in ("group", "users", "ratings", "overlap", "fav. slots with", "without", "rank shift", "noise"):
        groups.add_column(column, justify="right")
    for g in influence.groups:
        groups.add_row(
            g.name, str(g.users), f"{g.rating_share:.1%}", f"{g.overlap:.3f}", f"{g.favourite_share_with:.2%}",
            f"{g.favourite_share_without:.2%}", f"{g.rank_shift:+.1f}", f"{g.rank_noise:.1f}",
        )  # fmt: skip
    console.print(groups)
