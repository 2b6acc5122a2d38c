"""The comparison table, the targets of issue 3, and docs/benchmarks.md."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

FOLDS = ("u1", "u2", "u3", "u4", "u5")
SVD_ROW, FASTAI_ROW = "surprise-svd", "fastai-dot"


@dataclass
class Row:
    """One model of the table: its results per fold (protocol metrics + ``fit_seconds`` + ``params``)."""

    key: str
    label: str
    library: str
    folds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def metric(self, name: str) -> float:
        """Mean of a metric over the folds run (NaN when missing, e.g. RMSE of a ranking-only model)."""
        values = [_num(f.get(name)) for f in self.folds.values()]
        return statistics.fmean(values) if values else math.nan

    def rmse_folds(self) -> list[float]:
        return [_num(self.folds[f].get("rmse")) for f in FOLDS if f in self.folds]

    def fit_seconds(self) -> float:
        """Fit seconds on u1 when it ran (the timing fold), else the mean over the folds run."""
        if "u1" in self.folds:
            return float(self.folds["u1"]["fit_seconds"])
        return self.metric("fit_seconds")

    @property
    def rating_model(self) -> bool:
        return any(math.isfinite(v) for v in self.rmse_folds())


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and value is not None else math.nan


COLUMNS = (
    "model", "RMSE u1", "RMSE mean u1..u5 (std)", "MAE", "NDCG@10", "P@10", "R@10",
    "coverage", "mean pop.", "fit s", "fit / SVD", "fit / fastai",
)  # fmt: skip


def table_rows(rows: list[Row]) -> list[list[str]]:
    """One list of cells per row, in :data:`COLUMNS` order."""
    svd = _fit_of(rows, SVD_ROW)
    fastai = _fit_of(rows, FASTAI_ROW)
    out = []
    for row in rows:
        rmses = row.rmse_folds()
        u1 = _fmt(_num(row.folds.get("u1", {}).get("rmse")), 4)
        if len(rmses) > 1 and all(math.isfinite(v) for v in rmses):
            mean = f"{statistics.fmean(rmses):.4f} ({statistics.pstdev(rmses):.4f})"
            mean += "" if len(rmses) == len(FOLDS) else f" [{len(rmses)} folds]"
        else:
            mean = "-"
        fit = row.fit_seconds()
        ratios = [_ratio(fit, ref) if row.library == "embrec" else "" for ref in (svd, fastai)]
        out.append([
            row.label, u1, mean, _fmt(row.metric("mae"), 4), _fmt(row.metric("ndcg@10"), 4),
            _fmt(row.metric("precision@10"), 4), _fmt(row.metric("recall@10"), 4), _fmt(row.metric("coverage"), 3),
            _fmt(row.metric("mean_popularity"), 0), _fmt(fit, 2), *ratios,
        ])  # fmt: skip
    return out


def _fit_of(rows: list[Row], key: str) -> float:
    found = [r for r in rows if r.key == key and "u1" in r.folds]
    return found[0].fit_seconds() if found else math.nan


def _ratio(value: float, reference: float) -> str:
    if not math.isfinite(reference) or reference <= 0:
        return "-"
    ratio = value / reference
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.4f}x"


def _fmt(value: float, digits: int) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Check:
    name: str
    value: float  # NaN: not run
    op: str
    bound: float
    detail: str = ""

    @property
    def run(self) -> bool:
        return math.isfinite(self.value)

    @property
    def ok(self) -> bool:
        return self.run and (self.value <= self.bound if self.op == "<=" else self.value >= self.bound)


def checks(rows: list[Row]) -> list[Check]:
    """The targets of issue 3 that this run can check (NaN value: the rows it needs were not run)."""
    embrec = [r for r in rows if r.library == "embrec"]
    rating = [r for r in embrec if r.rating_model and "u1" in r.folds]
    best_u1 = min(rating, key=lambda r: _num(r.folds["u1"]["rmse"]), default=None)
    complete = [r for r in embrec if r.rating_model and len(r.rmse_folds()) == len(FOLDS)]
    best_mean = min(complete, key=lambda r: statistics.fmean(r.rmse_folds()), default=None)
    dots = [r for r in embrec if r.key in ("embrec-dot", "embrec-dot-tuned") and "u1" in r.folds]
    dot = min(dots, key=lambda r: _num(r.folds["u1"]["rmse"]), default=None)
    svd, fastai = _fit_of(rows, SVD_ROW), _fit_of(rows, FASTAI_ROW)
    dot_fit = dot.fit_seconds() if dot else math.nan
    refs = [r for r in rows if r.key in ("implicit-als", "implicit-bpr") and "u1" in r.folds]
    ranker = max(embrec, key=lambda r: _num(r.folds.get("u1", {}).get("ndcg@10")), default=None)
    best_ref = max(refs, key=lambda r: _num(r.folds["u1"]["ndcg@10"]), default=None)
    ranking = (
        _num(ranker.folds["u1"]["ndcg@10"]) / _num(best_ref.folds["u1"]["ndcg@10"])
        if ranker and best_ref and "u1" in ranker.folds
        else math.nan
    )
    all_folds = [r for r in rows if set(FOLDS) <= set(r.folds)]
    ranker_mean = max((r for r in all_folds if r.library == "embrec"), key=lambda r: r.metric("ndcg@10"), default=None)
    ref_mean = max(
        (r for r in all_folds if r.key in ("implicit-als", "implicit-bpr")),
        key=lambda r: r.metric("ndcg@10"),
        default=None,
    )
    ranking_mean = ranker_mean.metric("ndcg@10") / ref_mean.metric("ndcg@10") if ranker_mean and ref_mean else math.nan
    return [
        Check("best embrec rating model: RMSE u1", _u1(best_u1), "<=", 0.895, best_u1.label if best_u1 else ""),
        Check(
            "best embrec rating model: RMSE mean u1..u5",
            statistics.fmean(best_mean.rmse_folds()) if best_mean else math.nan,
            "<=",
            0.885,
            best_mean.label if best_mean else "",
        ),
        Check("embrec dot: RMSE u1", _u1(dot), "<=", 0.905, dot.label if dot else ""),
        Check("embrec dot fit s / Surprise SVD fit s (u1)", dot_fit / svd, "<=", 1.0, dot.label if dot else ""),
        Check("fastai book fit s / embrec dot fit s (u1)", fastai / dot_fit, ">=", 100.0, dot.label if dot else ""),
        Check(
            "best embrec NDCG@10 / best of implicit ALS, BPR (u1)",
            ranking,
            ">=",
            1.05,
            f"{ranker.label if ranker else ''} vs {best_ref.label if best_ref else ''}",
        ),
        Check(
            "best embrec NDCG@10 / best of implicit ALS, BPR (mean u1..u5)",
            ranking_mean,
            ">=",
            1.05,
            f"{ranker_mean.label if ranker_mean else ''} vs {ref_mean.label if ref_mean else ''}",
        ),
    ]


def _u1(row: Row | None) -> float:
    return _num(row.folds["u1"]["rmse"]) if row is not None else math.nan


def markdown(rows: list[Row], targets: list[Check], context: dict[str, Any]) -> str:
    """docs/benchmarks.md: the command, the date, how it was measured, the table and the targets."""
    lines = [
        "# Benchmarks: embrec against the reference libraries",
        "",
        f"Generated by `{context['command']}` on {context['date']} ({context['machine']}).",
        f"Folds run: {', '.join(context['folds'])}. Library versions: {context['versions']}.",
        "",
        "## Comparison on MovieLens 100k",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" if c == "model" else "---:" for c in COLUMNS) + " |",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(rows)]
    lines += ["", *context["legend"], "", "## Targets (issue 3)", ""]
    lines += ["| target | measured | bound | met |", "| --- | ---: | ---: | --- |"]
    for check in targets:
        met = "not run" if not check.run else ("yes" if check.ok else "**no**")
        detail = f" ({check.detail})" if check.detail and check.run else ""
        lines.append(f"| {check.name}{detail} | {_fmt(check.value, 4)} | {check.op} {check.bound:g} | {met} |")
    lines += ["", "## Settings per model (u1)", ""]
    for row in rows:
        first = row.folds.get("u1") or next(iter(row.folds.values()))
        lines.append(f"- **{row.label}**: {_settings(first.get('params', {}))}")
    if context.get("notes"):
        lines += ["", "## Notes", "", *[f"- {note}" for note in context["notes"]]]
    return "\n".join(lines) + "\n"


def _settings(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
