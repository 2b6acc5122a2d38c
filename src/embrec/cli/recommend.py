"""``embrec recommend`` and ``embrec similar``: lists from a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, KOpt, console, friendly_errors, items_table, print_json
from embrec.cli.onboard import newcomer_items


@friendly_errors
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    user: Annotated[str | None, typer.Option("--user", help="Raw user id.")] = None,
    k: KOpt = 10,
    json_out: JsonOpt = False,
    ratings: Annotated[str | None, typer.Option("--ratings", help="A new user's ratings: 'Fargo (1996)=4,..'.")] = None,
    genres: Annotated[str | None, typer.Option("--genres", help="A new user's liked genres: Comedy,Romance.")] = None,
) -> None:
    """The top-k items a user has not rated yet (or for a new user, from --ratings and/or --genres)."""
    recommender = load(model_dir)
    if (user is None) == (ratings is None and genres is None):
        raise typer.BadParameter("give --user ID, or --ratings and/or --genres for a new user")
    if user is None:
        user, items = "new user", newcomer_items(recommender, ratings, genres, k)
    else:
        items = recommender.recommend(user, k)
    if json_out:
        print_json({"user": user, "items": [i.to_json() for i in items]})
        return
    console.print(items_table(f"top {k} for user {user}", items, "predicted"))


@friendly_errors
def similar(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    item: Annotated[str | None, typer.Option("--item", help="Exact title, e.g. 'Star Wars (1977)'.")] = None,
    item_id: Annotated[str | None, typer.Option("--item-id", help="Raw item id.")] = None,
    k: KOpt = 10,
    json_out: JsonOpt = False,
) -> None:
    """Items closest to one item in the embedding space (cosine of item factors)."""
    if (item is None) == (item_id is None):
        raise typer.BadParameter("give exactly one of --item TITLE and --item-id ID")
    recommender = load(model_dir)
    query = item_id if item_id is not None else item
    if item_id is not None and item_id not in recommender.item_ids:
        recommender.item_ids.index(item_id)  # raises UnknownIdError with the id
    index = recommender.item_index(query)
    neighbours = recommender.similar_items(recommender.item_ids.raw(index), k)
    if json_out:
        print_json({"item": recommender.item_ids.raw(index), "title": recommender.title(index), "similar": [n.to_json() for n in neighbours]})
        return
    console.print(items_table(f"most similar to {recommender.title(index)}", neighbours, "cosine"))
