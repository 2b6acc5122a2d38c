"""Options and helpers shared by the commands that read a trained model (explain, map, ...)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from embrec.data.errors import DataError
from embrec.data.movielens import load_movielens, locate_movielens
from embrec.data.ratings import Ratings
from embrec.data.readers import read_ratings
from embrec.interpret.observed import training_ratings
from embrec.recommend.recommender import Recommender

TrainedOnOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="The ratings the model was trained on (MovieLens folder or zip, or a ratings file), for mean "
        "ratings and liked items; found by itself for MovieLens models when the data is at hand.",
    ),
]
WidthOpt = Annotated[int | None, typer.Option("--width", help="Picture width in pixels.")]
HeightOpt = Annotated[int | None, typer.Option("--height", help="Picture height in pixels.")]
MinRatingsOpt = Annotated[
    int, typer.Option("--min-ratings", help="Only items (users) with this many training ratings.")
]

_MOVIELENS_TRAINING = re.compile(r"^(ml-100k|u[1-5]\.base|u[ab]\.base)$")


def observed_ratings(recommender: Recommender, data: str | None) -> Ratings | None:
    """The model's training ratings with their values, or None when they cannot be had.

    ``data`` names the source (a folder or ``.zip`` is read as MovieLens, anything else as a
    ratings file); without it, a model trained on MovieLens 100k reads it from ``EMBREC_DATA_DIR``
    or the cache, never downloading. A source given explicitly that does not hold the model's
    training pairs is an error; a guessed one is quietly skipped.
    """
    if data is None:
        if not _MOVIELENS_TRAINING.match(str(recommender.info.get("data", ""))):
            return None
        try:
            full = load_movielens(locate_movielens(None, download=False))
            return training_ratings(recommender, full)
        except (DataError, ValueError):
            return None
    path = Path(data)
    full = load_movielens(path) if path.is_dir() or path.suffix == ".zip" else read_ratings(path)
    return training_ratings(recommender, full)


def picture_size(width: int | None, height: int | None, default: tuple[int, int]) -> tuple[int, int]:
    """The requested size, a missing side following the default aspect ratio."""
    if width is None and height is None:
        return default
    if width is None:
        assert height is not None
        return round(height * default[0] / default[1]), height
    if height is None:
        return width, round(width * default[1] / default[0])
    return width, height


def check_picture_path(out: Path | None) -> None:
    """Refuse an output name that is neither .png nor .svg before any work is done."""
    if out is not None and out.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter(f"--out must end in .png or .svg, not {out.name!r}")
