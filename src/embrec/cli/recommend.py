"""``embrec recommend`` and ``embrec similar``: lists from a saved model."""

from __future__ import annotations

import contextlib
import csv
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, KOpt, console, friendly_errors, items_table, print_json
from embrec.cli.explain import explanations_table, shared_table
from embrec.cli.interpret_common import MinRatingsOpt, TrainedOnOpt, observed_ratings
from embrec.cli.onboard import newcomer_items
from embrec.interpret.embedding_map import taste_map
from embrec.interpret.explanations import explain, output_formula
from embrec.interpret.neighbours import shared_directions
from embrec.recommend.recommender import Recommender

ExplainOpt = Annotated[
    bool, typer.Option("--explain", help="Say why: the parts of each score and what lies behind it.")
]
ExactOpt = Annotated[
    bool | None,
    typer.Option(
        "--exact/--approximate",
        help="Score every item, or search the approximate index (default: the index from 100,000 items, dot models).",
        show_default=False,
    ),
]
SaveIndexOpt = Annotated[
    bool, typer.Option("--save-index", help="Keep a newly built approximate index in the model directory.")
]
AllUsersOpt = Annotated[
    bool, typer.Option("--all-users", help="Lists for every trained user, as CSV user,rank,item,score.")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="With --all-users: the CSV file (default: stdout).")]
BATCH_USERS = 4096


@friendly_errors
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    user: Annotated[str | None, typer.Option("--user", help="Raw user id.")] = None,
    k: KOpt = 10,
    json_out: JsonOpt = False,
    ratings: Annotated[str | None, typer.Option("--ratings", help="A new user's ratings: 'Fargo (1996)=4,..'.")] = None,
    genres: Annotated[str | None, typer.Option("--genres", help="A new user's liked genres: Comedy,Romance.")] = None,
    explain_: ExplainOpt = False,
    data: TrainedOnOpt = None,
    exact: ExactOpt = None,
    save_index: SaveIndexOpt = False,
    all_users: AllUsersOpt = False,
    out: OutOpt = None,
) -> None:
    """The top-k items a user has not rated yet (or for a new user, from --ratings and/or --genres;
    or for every trained user with --all-users).

    With --explain: each prediction split into global offset + user bias + item bias + interaction
    (the logit, before the output squashing) and the user's liked items closest to it.
    """
    recommender = load(model_dir)
    recommender.retrieval.save = save_index
    if all_users:
        if user is not None or ratings is not None or genres is not None or explain_ or json_out:
            raise typer.BadParameter("--all-users takes no --user/--ratings/--genres/--explain/--json")
        _write_all(recommender, k, exact, out)
        return
    if (user is None) == (ratings is None and genres is None):
        raise typer.BadParameter("give --user ID, or --ratings and/or --genres for a new user")
    if explain_ and user is None:
        raise typer.BadParameter("--explain needs a trained user: give --user ID")
    if user is None:
        user, items = "new user", newcomer_items(recommender, ratings, genres, k)
    else:
        items = recommender.recommend(user, k, exact=exact)
    if explain_:
        explained, liked = explain(recommender, user, items, observed_ratings(recommender, data))
        if json_out:
            print_json({"user": user, "liked_from": liked.basis, "items": [e.to_json() for e in explained]})
            return
        console.print(
            explanations_table(f"top {k} for user {user}", explained, liked.basis, output_formula(recommender))
        )
        return
    if json_out:
        print_json({"user": user, "items": [i.to_json() for i in items]})
        return
    label = "predicted" if recommender.predicts_ratings else "score"  # ranking-trained: scores, not ratings
    console.print(items_table(f"top {k} for user {user}", items, label))


def _write_all(recommender: Recommender, k: int, exact: bool | None, out: Path | None) -> None:
    """Every trained user's top-k as CSV rows ``user,rank,item,score``, a block of users at a time."""
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(out.open("w", newline="", encoding="utf-8")) if out is not None else sys.stdout
        writer = csv.writer(handle)
        writer.writerow(["user", "rank", "item", "score"])
        for start in range(0, recommender.n_users, BATCH_USERS):
            users = np.arange(start, min(start + BATCH_USERS, recommender.n_users))
            items, scores = recommender.top_n(users, k, exact=exact)
            for user, row_items, row_scores in zip(users, items, scores, strict=True):
                raw = recommender.user_ids.raw(int(user))
                found = row_items >= 0
                writer.writerows(
                    (raw, rank, recommender.item_ids.raw(int(item)), f"{score:.6f}")
                    for rank, (item, score) in enumerate(zip(row_items[found], row_scores[found], strict=True), 1)
                )


@friendly_errors
def similar(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    item: Annotated[str | None, typer.Option("--item", help="Exact title, e.g. 'Star Wars (1977)'.")] = None,
    item_id: Annotated[str | None, typer.Option("--item-id", help="Raw item id.")] = None,
    k: KOpt = 10,
    json_out: JsonOpt = False,
    explain_: ExplainOpt = False,
    min_ratings: MinRatingsOpt = 20,
) -> None:
    """Items closest to one item in the embedding space (cosine of item factors).

    With --explain: the principal directions of the taste map (items with --min-ratings ratings)
    that contribute most to each cosine, named by the titles at their ends.
    """
    if (item is None) == (item_id is None):
        raise typer.BadParameter("give exactly one of --item TITLE and --item-id ID")
    recommender = load(model_dir)
    query = item_id if item_id is not None else item
    if item_id is not None and item_id not in recommender.item_ids:
        recommender.item_ids.index(item_id)  # raises UnknownIdError with the id
    index = recommender.item_index(query)
    neighbours = recommender.similar_items(recommender.item_ids.raw(index), k)
    if explain_:
        taste, factors = taste_map(recommender, min_ratings), recommender.item_factors()
        assert factors is not None  # similar_items needs them
        shared = [shared_directions(taste, factors, index, n.index) for n in neighbours]
        if json_out:
            similar_json = [
                n.to_json() | {"shared": [d.to_json() for d in s.directions]}
                for n, s in zip(neighbours, shared, strict=True)
            ]
            print_json(
                {"item": recommender.item_ids.raw(index), "title": recommender.title(index), "similar": similar_json}
            )
            return
        console.print(shared_table(f"most similar to {recommender.title(index)}", neighbours, shared))
        return
    if json_out:
        print_json(
            {
                "item": recommender.item_ids.raw(index),
                "title": recommender.title(index),
                "similar": [n.to_json() for n in neighbours],
            }
        )
        return
    console.print(items_table(f"most similar to {recommender.title(index)}", neighbours, "cosine"))
