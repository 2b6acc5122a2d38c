"""Pictures are valid PNG or SVG files of the requested size, with something drawn on them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embrec.interpret.embedding_map import taste_map, user_vector
from embrec.interpret.labels import overlapping_pairs, place_labels
from embrec.interpret.plotting import item_coloring, render_taste_map, render_weight_decay
from embrec.interpret.wd_sweep import SweepRun
from embrec.recommend.recommender import Recommender

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUNS = [
    SweepRun(0.0, [1.2, 0.8, 0.5], [1.1, 1.0, 1.05], {"user_factors": 0.9, "item_factors": 0.8}),
    SweepRun(0.1, [1.3, 1.0, 0.9], [1.1, 0.98, 0.97], {"user_factors": 0.4, "item_factors": 0.3}),
]


def assert_png(path: Path, width: int, height: int) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        assert image.size == (width, height)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # not blank


def assert_svg(path: Path, width: int, height: int) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert (root.get("width"), root.get("height")) == (f"{width}px", f"{height}px")
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 20  # not blank


@pytest.mark.parametrize(("color_by", "size"), [("genre", (733, 511)), ("year", (640, 480)), (None, (1000, 700))])
def test_taste_map_png_has_the_requested_size(
    recommender: Recommender, tmp_path: Path, color_by: str | None, size: tuple[int, int]
) -> None:
    taste = taste_map(recommender, min_ratings=5)
    coloring = item_coloring(recommender, taste.items, color_by) if color_by else None
    picture = render_taste_map(taste, tmp_path / "map.png", *size, label=15, coloring=coloring)
    assert_png(picture.path, *size)
    assert picture.labelled + picture.dropped == 15 and picture.labelled > 0


def test_taste_map_svg_with_a_user(recommender: Recommender, tmp_path: Path) -> None:
    taste = taste_map(recommender, min_ratings=5)
    spot = taste.user_position(user_vector(recommender, "1"))
    path = render_taste_map(taste, tmp_path / "map.svg", 900, 650, label=10, user=("user 1", spot)).path
    assert_svg(path, 900, 650)
    assert "user 1" in path.read_text(encoding="utf-8")


def test_weight_decay_pictures(tmp_path: Path) -> None:
    assert_png(render_weight_decay(RUNS, tmp_path / "wd.png", 800, 400), 800, 400)
    assert_svg(render_weight_decay(RUNS, tmp_path / "wd.svg", 801, 399), 801, 399)


def test_other_suffixes_and_sizes_are_refused(recommender: Recommender, tmp_path: Path) -> None:
    taste = taste_map(recommender, min_ratings=5)
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        render_taste_map(taste, tmp_path / "map.jpg")
    with pytest.raises(ValueError, match="pixels"):
        render_weight_decay(RUNS, tmp_path / "wd.png", 10, 400)
    with pytest.raises(ValueError, match="cannot colour"):
        item_coloring(recommender, taste.items, "no-such-column")


def test_placed_labels_do_not_overlap() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points = np.random.default_rng(0).normal(size=(60, 2))
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    placed = place_labels(
        ax, canvas.get_renderer(), [tuple(p) for p in points], [f"label number {i}" for i in range(60)]
    )
    texts = [t for t in ax.texts]
    assert sum(placed) == len(texts) and 0 < len(texts) < 60  # crowded: some left out
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in texts]
    assert overlapping_pairs(boxes) == 0
