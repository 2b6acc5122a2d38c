"""``embrec explain``: learned biases, or why the model predicts what it does for one pair."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, console, friendly_errors, print_json
from embrec.cli.interpret_common import MinRatingsOpt, TrainedOnOpt, observed_ratings
from embrec.interpret.biases import BiasExtremes, extreme_biases
from embrec.interpret.explanations import PARTS, Explanation, explain_pair, output_formula
from embrec.interpret.neighbours import SharedDirection, SharedDirections
from embrec.recommend.recommender import ItemScore


@friendly_errors
def explain(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    biases: Annotated[bool, typer.Option("--biases", help="Lowest and highest learned item and user biases.")] = False,
    n: Annotated[int, typer.Option("-n", help="Entries at each end.")] = 10,
    min_ratings: MinRatingsOpt = 20,
    user: Annotated[str | None, typer.Option("--user", help="With --item: explain one prediction.")] = None,
    item: Annotated[str | None, typer.Option("--item", help="Item id or exact title.")] = None,
    data: TrainedOnOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Read a model: --biases (liked more or less than tastes predict), or --user U --item I."""
    if biases == (user is not None or item is not None) or (user is None) != (item is None):
        raise typer.BadParameter("give --biases, or --user ID --item ITEM")
    recommender = load(model_dir)
    ratings = observed_ratings(recommender, data)
    if user is not None and item is not None:
        explanation = explain_pair(recommender, user, item, ratings)
        if json_out:
            print_json({"user": user} | explanation.to_json())
            return
        console.print(pair_table(user, explanation, output_formula(recommender)))
        return
    sides = {side: extreme_biases(recommender, side, n, min_ratings, ratings) for side in ("item", "user")}
    if json_out:
        print_json({"items": sides["item"].to_json(), "users": sides["user"].to_json()})
        return
    for side in ("item", "user"):
        for end in ("highest", "lowest"):
            console.print(bias_table(sides[side], end))
    if ratings is None:
        console.print("mean ratings need the training data: add --data PATH")


def bias_table(extremes: BiasExtremes, end: str) -> Table:
    """One end of the bias list: label, bias, training ratings and mean rating."""
    more = "more" if end == "highest" else "less"
    who = "films" if extremes.side == "item" else "users"
    verb = "liked" if extremes.side == "item" else "rating"
    title = f"{end} {extremes.side} bias: {who} {verb} {more} than tastes predict"
    if extremes.side == "user":
        title = f"{end} user bias: users who rate {'higher' if end == 'highest' else 'lower'} than their tastes predict"
    table = Table(title=f"{title} ({who} with >= {extremes.min_ratings} ratings: {extremes.n_eligible})")
    for column in ("#", extremes.side, "bias", "ratings", "mean rating"):
        table.add_column(column, justify="left" if column == extremes.side else "right")
    entries = extremes.highest if end == "highest" else extremes.lowest
    for rank, entry in enumerate(entries, 1):
        mean = "-" if entry.mean_rating is None else f"{entry.mean_rating:.2f}"
        table.add_row(str(rank), entry.label, f"{entry.bias:+.3f}", str(entry.n_ratings), mean)
    return table


def pair_table(user: str, explanation: Explanation, formula: str) -> Table:
    """The logit parts of one prediction, their sum and the squashed value (``formula``, from
    :func:`~embrec.interpret.explanations.output_formula`), and the liked items behind it."""
    table = Table(title=f"user {user} and {explanation.item.title}", show_header=False)
    for name, value in explanation.parts.items():
        table.add_row(name.replace("_", " "), f"{value:+.4f}")
    table.add_row("= logit", f"{explanation.logit:+.4f}")
    table.add_row(formula, f"{explanation.prediction:.4f}")
    for because in explanation.because:
        table.add_row("because you liked", f"{because.title} (cosine {because.cosine:.2f}, rated {because.rating:.1f})")
    return table


def explanations_table(title: str, explanations: list[Explanation], basis: str, formula: str) -> Table:
    """A recommendation list with each score's logit parts and the liked items closest to it."""
    liked = (
        "rated at least 80% of the top rating" if basis == "rated" else "fitted from your ratings (--data adds them)"
    )
    caption = f"{formula}; liked: {liked}"
    table = Table(title=title, caption=caption)
    columns = ("#", "title", "predicted", "logit = global + user bias + item bias + interaction", "because you liked")
    for column in columns:
        table.add_column(column, justify="right" if column in ("#", "predicted") else "left")
    for rank, entry in enumerate(explanations, 1):
        parts = " ".join(f"{entry.parts[name]:+.3f}" for name in PARTS)
        because = "\n".join(f"{b.title} ({b.cosine:.2f})" for b in entry.because) or "-"
        table.add_row(str(rank), entry.item.title, f"{entry.prediction:.3f}", f"{entry.logit:+.3f} = {parts}", because)
    return table


def shared_table(title: str, neighbours: list[ItemScore], shared: list[SharedDirections]) -> Table:
    """Similar items with the taste directions each shares with the query (share of the cosine)."""
    table = Table(
        title=title, caption="shared: a principal direction's term of the cosine, and the end both items lean to"
    )
    for column in ("#", "title", "cosine", "shared directions"):
        table.add_column(column, justify="right" if column in ("#", "cosine") else "left")
    for rank, (entry, directions) in enumerate(zip(neighbours, shared, strict=True), 1):
        lines = [_direction_line(d) for d in directions.directions if d.share > 0] or ["-"]
        table.add_row(str(rank), entry.title, f"{entry.score:.3f}", "\n".join(lines))
    return table


def _direction_line(direction: SharedDirection) -> str:
    """``PC1 +0.31 toward: Star Wars (1977), Return of the Jedi (1983)``."""
    end = direction.high if direction.position_a + direction.position_b > 0 else direction.low
    return f"{direction.name} {direction.share:+.2f} toward: {', '.join(end[:2])}"
