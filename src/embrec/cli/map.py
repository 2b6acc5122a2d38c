"""``embrec map``: a PCA map of the taste space, as a picture (PNG/SVG), a table or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, console, friendly_errors, print_json
from embrec.cli.interpret_common import HeightOpt, MinRatingsOpt, WidthOpt, check_picture_path, picture_size
from embrec.interpret.embedding_map import TasteMap, taste_map, user_vector
from embrec.interpret.plotting import MAP_SIZE, item_coloring, render_taste_map


@friendly_errors
def taste_map_command(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    out: Annotated[Path | None, typer.Option("--out", help="Picture to write: taste-map.png or .svg.")] = None,
    color_by: Annotated[
        str | None, typer.Option("--color-by", help="genre, year, popularity, bias or an item-table column.")
    ] = None,
    label: Annotated[int, typer.Option("--label", help="Label the N most rated items.")] = 50,
    min_ratings: MinRatingsOpt = 20,
    ends: Annotated[int, typer.Option("-n", help="Titles listed at each end of an axis.")] = 10,
    user: Annotated[str | None, typer.Option("--user", help="Place this user (raw id) on the map.")] = None,
    width: WidthOpt = None,
    height: HeightOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """PCA of the item factors: axes named by the titles at their ends, explained variance, a picture."""
    check_picture_path(out)
    size = picture_size(width, height, MAP_SIZE)
    recommender = load(model_dir)
    taste = taste_map(recommender, min_ratings, components=2, ends=ends)
    position = taste.user_position(user_vector(recommender, user)) if user is not None else None
    payload: dict[str, Any] = taste.to_json()
    if user is not None and position is not None:
        payload["user"] = {"user": user, "x": [round(float(v), 6) for v in position]}
    if out is not None:
        coloring = item_coloring(recommender, taste.items, color_by) if color_by else None
        placed = (f"user {user}", position) if user is not None and position is not None else None
        picture = render_taste_map(taste, out, size[0], size[1], label, coloring, placed)
        payload["picture"] = {"path": str(picture.path), "width": size[0], "height": size[1]}
        payload["picture"] |= {"labelled": picture.labelled, "labels_dropped": picture.dropped}
    if json_out:
        print_json(payload)
        return
    console.print(axes_table(taste))
    if "user" in payload:
        x, y = payload["user"]["x"]
        console.print(f"user {user} sits at PC1 {x:+.3f}, PC2 {y:+.3f}")
    if "picture" in payload:
        shown = payload["picture"]
        note = f" ({shown['labels_dropped']} labels left out: no free place)" if shown["labels_dropped"] else ""
        console.print(f"wrote {shown['path']} ({size[0]}x{size[1]} px, {shown['labelled']} labels){note}")


def axes_table(taste: TasteMap) -> Table:
    """Each axis: explained variance and the titles at its two ends."""
    table = Table(title=f"taste map of {len(taste.items)} items with >= {taste.min_ratings} ratings")
    for column in ("axis", "variance", "low end", "high end"):
        table.add_column(column, justify="right" if column == "variance" else "left")
    for axis in taste.axes:
        table.add_row(axis.name, f"{axis.explained:.1%}", "\n".join(axis.low), "\n".join(axis.high))
    return table
