"""Fold-in: place a new user (or item) in a trained model from a few ratings, everything else frozen.

API (what the service and the CLI call)::

    folded = fold_in(recommender, items, ratings)              # item indices + ratings -> FoldedRows
    folded = fold_in_ratings(recommender, {"Star Wars (1977)": 5, "Fargo (1996)": 4})
    folded.vector, folded.bias                                 # p_u (factors,) and b_u for ``dot``
    scores = predict_folded(recommender, folded)               # (n_items,) predicted ratings
    bigger = fold_in_user(recommender, "new-42", {"50": 5})    # a Recommender with the user appended
    bigger = add_users(recommender, ["a", "b"], [fa, fb], [items_a, items_b])   # (embrec.coldstart.extend)
    save(bigger, "runs/dot"); load("runs/dot").recommend("new-42")              # persists, reloads

No retraining: the other side's tables and every other weight stay as they are; only the new
user's own rows (``user_*`` parameters, see :mod:`embrec.coldstart.prior`) are solved for.
``side="item"`` folds in an item from its first ratings the same way, user side frozen.

The objective is the one training minimised for this user, with the population prior
``N(m, S)`` of :func:`~embrec.coldstart.prior.population_prior` in place of weight decay::

    L(w) = sum_j (f(c_j + x_j . w) - r_j)^2 / sigma^2 + (w - m)^T S^-1 (w - m)

with ``f(z) = lo + (hi - lo) * sigmoid(z)`` the model's output squashing, ``w = [b_u ; p_u]``,
``x_j = [1 ; q_j]`` and ``c_j = g + b_j`` for item ``j``, and ``sigma`` the rating noise in stars
(``noise``; default ``NOISE_SHARE`` of the scale, 0.9 on 1-5 stars). With no ratings ``w = m``:
the average user.

``dot``, closed form then Gauss-Newton (milliseconds). The model squashes its logit, so plain least
squares on ratings is not linear in ``w``. Step 1 solves it on the logit scale, in closed form:
targets ``t_j = f^-1(r_j) - c_j`` (clipped inside the output range), each weighted by ``f'(f^-1(r_j))^2``
so that a logit error counts as the rating error it causes (first-order), i.e. regularised weighted
least squares ``w = (X^T D X / sigma^2 + S^-1)^-1 (X^T D t / sigma^2 + S^-1 m)``. Unweighted logit
targets would over-fit the ends of the scale, where the sigmoid is flat and a 5-star target is far
away in logits. Step 2 takes ``steps`` Gauss-Newton steps on ``L`` itself, the squared error in stars
that training minimised (``H = J^T J / sigma^2 + S^-1``, ``w -= H^-1 grad``, halved while the loss
does not drop). Both are (d x d) solves, d = factors + 1.

Other models (``nn``, ``bias``, anything whose user rows are ``user_*`` parameters): L-BFGS on ``L``
over the flattened rows, started at ``m``, through the model's own forward (``torch.func``), the
model's weights detached. ``mean`` has no user rows: the fold-in is empty.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from embrec.coldstart.extend import add_users, replace_user
from embrec.coldstart.prior import FoldedRows, Prior, Side, default_attribute_rows, population_prior
from embrec.models.dot import DotProductBias
from embrec.recommend.recommender import Recommender

NOISE_SHARE = 0.225  # rating noise sigma as a share of the scale's span: 0.9 stars on 1-5
GAUSS_NEWTON_STEPS = 3
LBFGS_ITERATIONS = 40
_CLIP = 1e-3  # targets are kept this far (as a share of the output range) inside it


def fold_in(
    recommender: Recommender,
    indices: np.ndarray,
    ratings: np.ndarray,
    side: Side = "user",
    prior: Prior | None = None,
    noise: float | None = None,
    steps: int = GAUSS_NEWTON_STEPS,
    attributes: Mapping[str, np.ndarray] | None = None,
) -> FoldedRows:
    """Rows for a new ``side`` entity from its ratings of other-side ``indices`` (see the module docstring).

    ``prior`` defaults to :func:`population_prior` (pass one in when folding in many users).
    ``attributes`` are fixed rows of other per-entity tensors the model reads (a ``widedeep``
    model's encoded side features, ``{"user_features": row}``): used while solving, returned
    with the rows, stored by ``add_users``.
    """
    indices = np.asarray(indices, dtype=np.int64)
    values = np.asarray(ratings, dtype=np.float64)
    if len(indices) != len(values):
        raise ValueError("indices and ratings must have the same length")
    if len(np.unique(indices)) != len(indices):
        raise ValueError("each item may be rated only once")
    prior = prior if prior is not None else population_prior(recommender, side)
    sigma = noise if noise is not None else NOISE_SHARE * (recommender.scale[1] - recommender.scale[0])
    model = recommender.model
    model.eval()
    fixed = default_attribute_rows(recommender, side) | {k: np.asarray(v) for k, v in (attributes or {}).items()}
    if prior.layout.size == 0:
        return FoldedRows(side, fixed, "none")
    if len(indices) == 0:
        return FoldedRows(side, prior.layout.split(prior.mean) | fixed, "none")
    if isinstance(model, DotProductBias):
        w = _solve_dot(model, side, prior, indices, values, sigma, steps)
        return FoldedRows(side, prior.layout.split(w) | fixed, "closed_form")
    w = _solve_gradient(recommender, side, prior, indices, values, sigma, _tables(model, fixed))
    return FoldedRows(side, prior.layout.split(w) | fixed, "gradient")


# --- dot: closed form on logits, then Gauss-Newton on the squashed loss ------------------
def design(model: DotProductBias, side: Side, prior: Prior, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n, d) in the prior's layout and the fixed logit offsets ``c`` (n,)."""
    other: Side = "item" if side == "user" else "user"
    rows = torch.as_tensor(others, dtype=torch.long)
    with torch.no_grad():  # only the rows needed: converting whole tables would dominate the time
        factors = getattr(model, f"{other}_factors").weight[rows].double().numpy()
        biases = getattr(model, f"{other}_bias").weight[rows, 0].double().numpy()
        offset = float(model.global_bias) + biases
    ones = np.ones((len(others), 1))
    columns = [ones if name.endswith("_bias.weight") else factors for name in prior.layout.names]
    return np.hstack(columns), offset


def _solve_dot(
    model: DotProductBias, side: Side, prior: Prior, others: np.ndarray, r: np.ndarray, sigma: float, steps: int
) -> np.ndarray:
    x, c = design(model, side, prior, others)
    lo, hi = model.y_range
    p = np.clip((r - lo) / (hi - lo), _CLIP, 1 - _CLIP)
    target_logit = np.log(p / (1 - p))
    slope = (hi - lo) * p * (1 - p)  # f' at the target: a logit error of e costs about slope * e stars
    weights = slope**2 / sigma**2
    h = x.T @ (weights[:, None] * x) + prior.precision
    w = np.linalg.solve(h, x.T @ (weights * (target_logit - c)) + prior.precision @ prior.mean)
    for _ in range(steps):
        w = _gauss_newton_step(x, c, r, w, prior, sigma, (lo, hi))
    return w


def squashed_loss(
    x: np.ndarray, c: np.ndarray, r: np.ndarray, w: np.ndarray, prior: Prior, sigma: float, y_range: tuple[float, float]
) -> float:
    """``L(w)`` of the module docstring."""
    lo, hi = y_range
    y = lo + (hi - lo) / (1 + np.exp(-(c + x @ w)))
    d = w - prior.mean
    return float(((y - r) ** 2).sum() / sigma**2 + d @ prior.precision @ d)


def _gauss_newton_step(
    x: np.ndarray, c: np.ndarray, r: np.ndarray, w: np.ndarray, prior: Prior, sigma: float, y_range: tuple[float, float]
) -> np.ndarray:
    lo, hi = y_range
    s = 1 / (1 + np.exp(-(c + x @ w)))
    y = lo + (hi - lo) * s
    jac = ((hi - lo) * s * (1 - s))[:, None] * x  # (n, d): dy/dw
    grad = jac.T @ (y - r) / sigma**2 + prior.precision @ (w - prior.mean)
    step = np.linalg.solve(jac.T @ jac / sigma**2 + prior.precision, grad)
    before = squashed_loss(x, c, r, w, prior, sigma, y_range)
    for _ in range(8):  # Gauss-Newton gives a descent direction; halve until the loss drops
        candidate = w - step
        if squashed_loss(x, c, r, candidate, prior, sigma, y_range) <= before:
            return candidate
        step = step / 2
    return w


# --- any model: L-BFGS through its forward ----------------------------------------------
def _solve_gradient(
    recommender: Recommender,
    side: Side,
    prior: Prior,
    others: np.ndarray,
    r: np.ndarray,
    sigma: float,
    fixed: dict[str, torch.Tensor],
) -> np.ndarray:
    model = recommender.model
    target = torch.as_tensor(r, dtype=torch.float32)
    mean = torch.as_tensor(prior.mean, dtype=torch.float32)
    precision = torch.as_tensor(prior.precision, dtype=torch.float32)
    w = mean.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([w], max_iter=LBFGS_ITERATIONS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        y = forward_rows(model, side, prior.layout.tables(w) | fixed, others)
        d = w - mean
        loss: torch.Tensor = ((y - target) ** 2).sum() / sigma**2 + d @ precision @ d
        loss.backward()
        return loss

    optimizer.step(closure)
    return w.detach().double().numpy()


def _tables(model: nn.Module, rows: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Rows as one-row tables ``(1, *shape)`` in the dtype of the model's tensor of that name."""
    state = model.state_dict()
    return {name: torch.as_tensor(np.asarray(row)).to(state[name].dtype)[None] for name, row in rows.items()}


def forward_rows(model: nn.Module, side: Side, tables: dict[str, torch.Tensor], others: np.ndarray) -> torch.Tensor:
    """The model's predictions for one entity given by one-row ``tables`` against ``others`` (n,).

    Every other weight is the model's own, detached: gradients reach ``tables`` only.
    """
    model.eval()
    tensors = {name: t.detach() for name, t in model.state_dict().items()} | tables
    other_index = torch.as_tensor(np.asarray(others), dtype=torch.long)
    own_index = torch.zeros(len(other_index), dtype=torch.long)
    args = (own_index, other_index) if side == "user" else (other_index, own_index)
    output: torch.Tensor = functional_call(model, tensors, args)
    return output


# --- predictions and raw-id front end ---------------------------------------------------
def predict_folded(recommender: Recommender, folded: FoldedRows) -> np.ndarray:
    """Predicted ratings of every item (user, for ``side="item"``) for the folded entity, float32."""
    n = recommender.n_items if folded.side == "user" else recommender.n_users
    tables = _tables(recommender.model, default_attribute_rows(recommender, folded.side) | folded.rows)
    with torch.inference_mode():
        scores = forward_rows(recommender.model, folded.side, tables, np.arange(n))
    return np.asarray(scores.float().numpy(), dtype=np.float32).copy()


def resolve_answers(recommender: Recommender, answers: Mapping[object, float]) -> tuple[np.ndarray, np.ndarray]:
    """Item indices and ratings from ``{raw id or exact title: rating}``, validated.

    Unknown items raise :class:`UnknownIdError` with close titles suggested; a rating outside the
    scale or a film named twice (by id and title) raises ``ValueError`` naming it.
    """
    lo, hi = recommender.scale
    indices, values = [], []
    for item, rating in answers.items():
        index = recommender.item_index(item)
        value = float(rating)
        if not lo <= value <= hi:
            raise ValueError(f"rating {value:g} for {recommender.title(index)!r} is outside the scale {lo:g}-{hi:g}")
        if index in indices:
            raise ValueError(f"{recommender.title(index)!r} is rated twice")
        indices.append(index)
        values.append(value)
    return np.asarray(indices, dtype=np.int64), np.asarray(values, dtype=np.float32)


def fold_in_ratings(
    recommender: Recommender, answers: Mapping[object, float], noise: float | None = None
) -> FoldedRows:
    """:func:`fold_in` from ``{raw item id or exact title: rating}`` (see :func:`resolve_answers`)."""
    indices, values = resolve_answers(recommender, answers)
    return fold_in(recommender, indices, values, noise=noise)


def fold_in_user(recommender: Recommender, user: str, answers: Mapping[object, float]) -> Recommender:
    """A recommender with ``user`` folded in from ``answers`` (appended, or re-estimated if present).

    The returned recommender shares nothing mutable with the given one; every other weight is
    bit-identical, and ``answers``' items join the user's seen items (excluded from lists).
    """
    indices, values = resolve_answers(recommender, answers)
    folded = fold_in(recommender, indices, values)
    if user in recommender.user_ids:
        return replace_user(recommender, user, folded, indices)
    return add_users(recommender, [user], [folded], [indices])


__all__ = [
    "FoldedRows",
    "fold_in",
    "fold_in_ratings",
    "fold_in_user",
    "predict_folded",
    "resolve_answers",
    "squashed_loss",
]
