"""Pictures of the interpretation views, rendered headless: PNG or SVG chosen by the file suffix.

matplotlib is imported inside the functions and every figure is drawn on an explicit Agg canvas
(``FigureCanvasAgg``), never through pyplot: nothing changes global state, nothing needs a
display, and importing embrec does not import matplotlib. Sizes are in pixels; an SVG's root
``width``/``height`` are written in pixels too (``px``), its drawing scaled like the PNG's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pandas.api.types import is_numeric_dtype

from embrec.interpret.biases import learned_biases
from embrec.interpret.embedding_map import TasteMap
from embrec.interpret.labels import place_labels
from embrec.interpret.wd_sweep import SweepRun
from embrec.recommend.recommender import Recommender

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
MAP_SIZE = (1400, 1000)
SWEEP_SIZE = (1400, 650)
MAX_CATEGORIES = 9  # the most common categories get a colour each, the rest are "other"
SUFFIXES = (".png", ".svg")


@dataclass(frozen=True)
class Coloring:
    """What colours the map's points: one category per item, or one number per item."""

    name: str
    categories: tuple[str, ...] | None = None
    values: np.ndarray | None = None


def item_coloring(recommender: Recommender, items: np.ndarray, by: str) -> Coloring:
    """Colours for item indices ``items`` by ``popularity``, ``bias`` or an item-table column.

    A text column gives categories: an item with several (``Action|Comedy``) takes the first
    listed. A numeric column (``year``) gives values.
    """
    if by == "popularity":
        return Coloring("ratings", values=np.asarray(recommender.item_popularity[items], dtype=np.float64))
    if by == "bias":
        biases = learned_biases(recommender.model, "item")
        if biases is None:
            raise ValueError(f"a {recommender.model_config.kind!r} model has no item biases to colour by")
        return Coloring("item bias", values=biases[items])
    table = recommender.item_table
    columns = [] if table is None else [str(c) for c in table.columns if c != "title"]
    if by not in columns and f"{by}s" in columns:
        by = f"{by}s"  # "genre" names the "genres" column
    if table is None or by not in columns:
        raise ValueError(f"cannot colour by {by!r}; choose popularity, bias or one of: {', '.join(columns) or 'none'}")
    column = table[by].iloc[items]
    if is_numeric_dtype(column.dtype):
        return Coloring(by, values=column.to_numpy(dtype=np.float64, na_value=np.nan))
    return Coloring(by, categories=tuple(str(v).split("|")[0] if str(v) else "(none)" for v in column))


@dataclass(frozen=True)
class MapPicture:
    """A written taste-map picture and how many of the requested labels found a free place."""

    path: Path
    labelled: int
    dropped: int


def render_taste_map(
    taste: TasteMap,
    path: str | Path,
    width: int = MAP_SIZE[0],
    height: int = MAP_SIZE[1],
    label: int = 50,
    coloring: Coloring | None = None,
    user: tuple[str, np.ndarray] | None = None,
    title: str | None = None,
) -> MapPicture:
    """Draw the first two map coordinates of every item, label the ``label`` most rated ones
    without overlaps, name each axis by the titles at its ends with its explained variance, and
    place ``user`` (a label and its map point, drawn as an arrow from the origin)."""
    if taste.coords.shape[1] < 2:
        raise ValueError("the taste map needs two components to draw")
    fig = _figure(width, height)
    ax = fig.add_axes((0.07, 0.08, 0.72, 0.86))
    xy = taste.coords[:, :2]
    sizes = 8 + 70 * np.sqrt(taste.n_ratings / max(int(taste.n_ratings.max()), 1))
    _scatter(fig, ax, xy, sizes, coloring)
    extent = np.vstack([xy, user[1][None, :2]]) if user is not None else xy
    _limits(ax, extent)
    ax.set_xlabel(taste.axes[0].label(2), fontsize=9)
    ax.set_ylabel(taste.axes[1].label(2), fontsize=9)
    ax.axhline(0, color="#ccc", lw=0.6, zorder=0)
    ax.axvline(0, color="#ccc", lw=0.6, zorder=0)
    ax.set_title(title or f"Taste map: {len(xy)} items with at least {taste.min_ratings} ratings", fontsize=11)
    points: list[tuple[float, float]] = []
    texts: list[str] = []
    radii: list[float] = []
    if user is not None:
        name, spot = user
        ax.annotate(
            "", xy=(spot[0], spot[1]), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "#c00", "lw": 1.5}
        )
        ax.scatter([spot[0]], [spot[1]], marker="*", s=220, color="#c00", edgecolors="white", zorder=5)
        points.append((float(spot[0]), float(spot[1])))
        texts.append(name)
        radii.append(10.0)
    order = np.argsort(-taste.n_ratings, kind="stable")[: max(label, 0)]
    points += [(float(xy[i, 0]), float(xy[i, 1])) for i in order]
    texts += [_short(taste.titles[i]) for i in order]
    radii += [float(np.sqrt(sizes[i]) / 2 * DPI / 72) for i in order]  # marker area is in points^2
    placed = place_labels(ax, fig.canvas.get_renderer(), points, texts, radii=radii)  # type: ignore[attr-defined]
    n_item_labels = len(order)
    item_placed = placed[1:] if user is not None else placed
    target = _save(fig, Path(path), width, height)
    return MapPicture(target, int(sum(item_placed)), n_item_labels - int(sum(item_placed)))


def render_weight_decay(
    runs: Sequence[SweepRun],
    path: str | Path,
    width: int = SWEEP_SIZE[0],
    height: int = SWEEP_SIZE[1],
    title: str | None = None,
) -> Path:
    """Validation RMSE per epoch for each weight decay (best epoch marked), beside the embedding norms."""
    if not runs:
        raise ValueError("no runs to draw")
    from matplotlib.ticker import MaxNLocator

    fig = _figure(width, height)
    curves, bars = fig.add_axes((0.07, 0.12, 0.50, 0.78)), fig.add_axes((0.65, 0.12, 0.32, 0.78))
    colors = _palette(len(runs))
    for run, color in zip(runs, colors, strict=True):
        epochs = np.arange(1, len(run.valid_rmse) + 1)
        curves.plot(epochs, run.valid_rmse, color=color, marker="o", ms=3, label=f"wd {run.weight_decay:g}")
        train_rmse = np.sqrt(np.asarray(run.train_loss[: len(epochs)]))
        curves.plot(epochs, train_rmse, color=color, ls="--", lw=0.9, alpha=0.7)
        curves.scatter([run.best_epoch], [min(run.valid_rmse)], s=80, facecolors="none", edgecolors=color, zorder=4)
    curves.set_xlabel("epoch")
    curves.set_ylabel("validation RMSE")
    curves.set_title("Validation RMSE per epoch (circle: best epoch; dashed: sqrt of training loss)", fontsize=10)
    curves.xaxis.set_major_locator(MaxNLocator(integer=True))
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8)
    tables = sorted({name for run in runs for name in run.norms})
    width_bar = 0.8 / max(len(tables), 1)
    positions = np.arange(len(runs))
    for j, name in enumerate(tables):
        values = [run.norms.get(name, 0.0) for run in runs]
        bars.bar(positions + (j - (len(tables) - 1) / 2) * width_bar, values, width_bar, label=name)
    bars.set_xticks(positions, [f"{run.weight_decay:g}" for run in runs])
    bars.set_xlabel("weight decay")
    bars.set_ylabel("mean L2 norm of a trained row")
    bars.set_title("Embedding norms after training", fontsize=10)
    bars.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, Path(path), width, height)


# --- drawing helpers ----------------------------------------------------------------------
def _scatter(fig: Figure, ax: Axes, xy: np.ndarray, sizes: np.ndarray, coloring: Coloring | None) -> None:
    style = {"s": sizes, "alpha": 0.75, "edgecolors": "white", "linewidths": 0.4, "zorder": 2}
    if coloring is None:
        ax.scatter(xy[:, 0], xy[:, 1], color="#4477aa", **style)  # type: ignore[arg-type]
        return
    if coloring.values is not None:
        dots = ax.scatter(xy[:, 0], xy[:, 1], c=coloring.values, cmap="viridis", **style)  # type: ignore[arg-type]
        fig.colorbar(dots, ax=ax, fraction=0.04, pad=0.02, label=coloring.name)
        return
    categories = np.asarray(coloring.categories)
    names, counts = np.unique(categories, return_counts=True)
    common = [str(n) for n in names[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]]
    for name, color in zip([*common, "other"], [*_palette(len(common)), "#bbbbbb"], strict=True):
        mask = np.isin(categories, common, invert=True) if name == "other" else categories == name
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], color=color, label=name, **(style | {"s": sizes[mask]}))  # type: ignore[arg-type]
    ax.legend(title=coloring.name, fontsize=8, title_fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _limits(ax: Axes, xy: np.ndarray) -> None:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = np.maximum((hi - lo) * 0.08, 1e-9)
    ax.set_xlim(float(lo[0] - pad[0]), float(hi[0] + pad[0]))
    ax.set_ylim(float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _short(title: str, limit: int = 32) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "\u2026"


# --- figure and file ----------------------------------------------------------------------
def _figure(width: int, height: int) -> Figure:
    """A figure of ``width`` x ``height`` pixels on an explicit, headless Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    for size in (width, height):
        if not 100 <= size <= 20_000:
            raise ValueError(f"picture sizes must be between 100 and 20000 pixels, got {width}x{height}")
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path, width: int, height: int) -> Path:
    """Write PNG or SVG by suffix; an SVG's root size is rewritten in pixels."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: the picture must end in .png or .svg")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        fig.savefig(path, format="png", dpi=DPI)
        return path
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "embrec"}):  # stable element ids: the same figure, the same file
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        rf'<svg\1 width="{width}px" height="{height}px"',
        buffer.getvalue(),
        count=1,
    )
    path.write_text(svg, encoding="utf-8")
    return path
