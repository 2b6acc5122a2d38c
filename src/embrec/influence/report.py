"""The audit as a picture (PNG) or a self-contained HTML page (tables + the picture inlined).

Figures are drawn on a private ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot
global state, no display needed.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from embrec.influence.audit import Audit
from embrec.influence.concentration import gini, lorenz


def write_report(result: Audit, path: str | Path, title: str = "embrec influence audit") -> Path:
    """Write ``result`` to ``path``: a PNG for ``.png``, an HTML page for ``.html``/``.htm``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise ValueError(f"--out must end in .png or .html, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    png = figure_png(result, title)
    if suffix == ".png":
        path.write_bytes(png)
    else:
        path.write_text(audit_html(result, png, title), encoding="utf-8")
    return path


def figure_png(result: Audit, title: str) -> bytes:
    """Lorenz curves of the signal and the lists; group influence bars when it was measured."""
    panels = 3 if result.influence is not None else 1
    figure = Figure(figsize=(5.2 * panels, 4.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _lorenz_panel(axes[0], result)
    if result.influence is not None:
        _group_panels(axes[1], axes[2], result)
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _lorenz_panel(ax: Any, result: Audit) -> None:
    curves = (
        ("ratings per user", result.user_activity),
        ("ratings per item", result.item_popularity),
        (f"top-{result.lists.k} slots per item", result.recommendation_counts),
    )
    for label, values in curves:
        x, y = lorenz(values)
        ax.plot(x, y, label=f"{label} (Gini {gini(values):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("share of users / items, least to most")
    ax.set_ylabel("cumulative share")
    ax.set_title("concentration (Lorenz curves)")
    ax.legend(fontsize=8, loc="upper left")


def _group_panels(overlap_ax: Any, rank_ax: Any, result: Audit) -> None:
    influence = result.influence
    assert influence is not None
    names = [g.name for g in influence.groups]
    positions = np.arange(len(names))
    overlap_ax.barh(positions, [g.overlap for g in influence.groups], color="tab:blue")
    overlap_ax.axvline(influence.noise_overlap, color="tab:red", linestyle="--", label="seed noise")
    overlap_ax.set_yticks(positions, names, fontsize=8)
    overlap_ax.invert_yaxis()
    overlap_ax.set_xlim(0, 1)
    overlap_ax.set_xlabel(f"others' top-{influence.k} overlap without the group")
    overlap_ax.set_title(f"group removed, retrained ({influence.epochs} epochs)")
    overlap_ax.legend(fontsize=8)
    shifts = [g.rank_shift for g in influence.groups]
    rank_ax.barh(positions, shifts, xerr=[g.rank_noise for g in influence.groups], color="tab:orange")
    rank_ax.set_yticks(positions, [""] * len(names))
    rank_ax.invert_yaxis()
    rank_ax.axvline(0, color="grey", linewidth=1)
    rank_ax.set_xlabel("ranks the group lifts its favourites (bar: seed noise)")
    rank_ax.set_title("group favourites in others' rankings")


def audit_html(result: Audit, png: bytes, title: str) -> str:
    """A self-contained page: the figures and every number of the audit."""
    signal, lists = result.signal, result.lists
    rows = [
        ("ratings", f"{signal.n_ratings}"),
        ("users with ratings", f"{signal.active_users}"),
        *(
            (f"share of ratings from the top {k} most active users", f"{v:.1%}")
            for k, v in signal.top_user_share.items()
        ),
        ("Gini of user activity", f"{signal.gini_users:.3f}"),
        ("Gini of item popularity", f"{signal.gini_items:.3f}"),
        (f"catalog coverage of the top-{lists.k} lists", f"{lists.coverage:.1%}"),
        (f"Gini of top-{lists.k} slots per item", f"{lists.gini:.3f}"),
        ("share of slots taken by the 1% most shown items", f"{lists.top_item_share:.1%}"),
    ]
    parts = [f"<h1>{html.escape(title)}</h1>", _table(("figure", "value"), rows)]
    influence = result.influence
    if influence is not None:
        parts.append(
            f"<h2>Group influence</h2><p>Each group's ratings removed and the model retrained with the same "
            f"cheap settings ({influence.epochs} epochs); overlap of everyone else's top-{influence.k} lists "
            f"with the reference. Retraining with another seed alone gives overlap {influence.noise_overlap:.3f}.</p>"
        )
        header = ("group", "users", "share of ratings", "overlap", "favourites' slot share with / without",
                  "rank shift", "seed noise")  # fmt: skip
        group_rows = [
            (g.name, str(g.users), f"{g.rating_share:.1%}", f"{g.overlap:.3f}",
             f"{g.favourite_share_with:.2%} / {g.favourite_share_without:.2%}", f"{g.rank_shift:+.1f}",
             f"{g.rank_noise:.1f}")
            for g in influence.groups
        ]  # fmt: skip
        parts.append(_table(header, group_rows))
    image = base64.b64encode(png).decode("ascii")
    parts.append(f'<img alt="audit figures" src="data:image/png;base64,{image}">')
    style = "body{font-family:sans-serif;max-width:70em;margin:2em auto}td,th{padding:.2em .8em;text-align:right}"
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{style}</style>'
    body = "\n".join(parts)
    return f"<!doctype html><html><head>{head}</head><body>\n{body}\n</body></html>\n"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
