"""Greedy placement of point labels that do not overlap.

Labels are placed one at a time in priority order (the first ones matter most). Each tries a
fixed list of offsets around its point (right, left, above, below, then farther out) and takes
the first whose box, measured by the renderer, overlaps no label already placed, covers none
of the labelled points (so no label sits on a dot it does not name) and stays inside the axes.
A label with no free position is left out: a missing label is better than an unreadable pile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.transforms import Bbox

# (dx, dy) in points and the text alignment that keeps the text clear of its point
HAlign = Literal["left", "center", "right"]
VAlign = Literal["bottom", "top"]
_OFFSETS: tuple[tuple[float, float, HAlign, VAlign], ...] = (
    (5, 3, "left", "bottom"),
    (5, -3, "left", "top"),
    (-5, 3, "right", "bottom"),
    (-5, -3, "right", "top"),
    (0, 6, "center", "bottom"),
    (0, -6, "center", "top"),
    (12, 10, "left", "bottom"),
    (12, -10, "left", "top"),
    (-12, 10, "right", "bottom"),
    (-12, -10, "right", "top"),
    (0, 16, "center", "bottom"),
    (0, -16, "center", "top"),
)
_PAD = 2.0  # pixels kept free around each label


def place_labels(
    ax: Axes,
    renderer: RendererBase,
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    fontsize: float = 8.0,
    radii: Sequence[float] | None = None,
) -> list[bool]:
    """Annotate ``points`` (data coordinates) with ``texts`` in priority order without overlaps.

    ``radii`` are the points' marker radii in pixels (default 4): labels keep clear of the other
    points' markers and step out of their own. Returns, per label, whether it was placed. Call
    after the axes limits are final.
    """
    from matplotlib.transforms import Bbox

    frame = ax.get_window_extent(renderer)
    sizes = [4.0] * len(points) if radii is None else [float(r) for r in radii]
    centres = np.asarray(ax.transData.transform(points)) if len(points) else np.empty((0, 2))
    dots = [Bbox.from_extents(cx - r, cy - r, cx + r, cy + r) for (cx, cy), r in zip(centres, sizes, strict=True)]
    taken: list[Bbox] = []
    placed = []
    for n, ((x, y), text) in enumerate(zip(points, texts, strict=True)):
        label = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize, zorder=4)
        others = dots[:n] + dots[n + 1 :]
        step = max(sizes[n] * 72.0 / ax.figure.dpi - 3.0, 0.0)  # points beyond the default marker
        ok = False
        for dx, dy, ha, va in _OFFSETS:
            label.set_position((dx + step * _sign(dx), dy + step * _sign(dy)))
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            box = label.get_window_extent(renderer).padded(_PAD)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in (*taken, *others)):
                taken.append(box)
                ok = True
                break
        if not ok:
            label.remove()
        placed.append(ok)
    return placed


def _sign(value: float) -> float:
    return float((value > 0) - (value < 0))


def overlapping_pairs(boxes: Sequence[Bbox]) -> int:
    """How many pairs of boxes overlap (for checks)."""
    return sum(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
