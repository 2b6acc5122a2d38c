"""``embrec users-for-item``: who to show a film to (the users most likely to rate it highly)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, KOpt, console, friendly_errors, print_json
from embrec.interpret.neighbours import users_for_item as find_users


@friendly_errors
def users_for_item(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    item: Annotated[str, typer.Option("--item", help="Item id or exact title, e.g. 'Star Wars (1977)'.")],
    k: KOpt = 10,
    include_raters: Annotated[
        bool, typer.Option("--include-raters", help="Also list users who rated it in training.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """The users with the highest predicted rating of an item, among those who have not rated it."""
    recommender = load(model_dir)
    index = recommender.item_index(item)
    users = find_users(recommender, recommender.item_ids.raw(index), k, exclude_seen=not include_raters)
    if json_out:
        print_json(
            {
                "item": recommender.item_ids.raw(index),
                "title": recommender.title(index),
                "users": [u.to_json() for u in users],
            }
        )
        return
    table = Table(title=f"users most likely to rate {recommender.title(index)} highly")
    for column in ("#", "user", "predicted"):
        table.add_column(column, justify="left" if column == "user" else "right")
    for rank, entry in enumerate(users, 1):
        table.add_row(str(rank), entry.label, f"{entry.score:.3f}")
    console.print(table)
