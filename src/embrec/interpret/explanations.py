"""Why a prediction: the logit split into its additive parts, and "because you liked ...".

For the dot model ``y = lo + (hi - lo) * sigmoid(logit)`` with
``logit = g + b_u + b_i + p_u . q_i``: the global offset, the user's bias, the item's bias and the
interaction of tastes. The parts add up exactly to the logit; squashing the logit gives the
predicted rating. (The squashing is monotone but not additive, so the parts are reported on the
logit scale.) ``bmf`` has the same parts with no squashing, only a clip to ``y_range``: its
parts add up to the predicted rating itself.

"Because you liked": the user's liked training items (:func:`embrec.interpret.observed.liked_items`)
whose factor vectors have the highest cosine with the recommended item's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from embrec.data.ratings import Ratings
from embrec.interpret.observed import Liked, liked_items
from embrec.models.common import sigmoid_range
from embrec.recommend.recommender import ItemScore, Recommender

PARTS = ("global", "user_bias", "item_bias", "interaction")


@dataclass(frozen=True)
class PredictionParts:
    """The logit terms of (user, item) index pairs, their sum and the squashed prediction; (n,) each."""

    parts: dict[str, np.ndarray]
    logit: np.ndarray
    prediction: np.ndarray


def prediction_parts(recommender: Recommender, users: np.ndarray, items: np.ndarray) -> PredictionParts:
    """Split the predictions of index pairs into the model's additive logit terms.

    Needs a model with ``logit_parts`` (``dot``, ``bmf``). ``logit`` is the sum of the parts and
    ``prediction`` its squashing into ``y_range`` (or the model's own ``output``: ``bmf`` clips),
    both computed as the model does (float32).
    """
    split = getattr(recommender.model, "logit_parts", None)
    y_range = recommender.model_config.y_range
    if not callable(split) or y_range is None:
        raise ValueError(f"a {recommender.model_config.kind!r} model does not split its predictions into parts")
    recommender.model.eval()
    with torch.inference_mode():
        u = torch.as_tensor(np.atleast_1d(users), dtype=torch.long)
        i = torch.as_tensor(np.atleast_1d(items), dtype=torch.long)
        terms: dict[str, torch.Tensor] = split(u, i)
        logit = sum(terms.values(), torch.zeros(len(u)))
        output = getattr(recommender.model, "output", None)
        prediction = output(logit) if callable(output) else sigmoid_range(logit, y_range)
    parts = {k: v.detach().numpy().copy() for k, v in terms.items()}
    return PredictionParts(parts, logit.detach().numpy().copy(), prediction.detach().numpy().copy())


def output_formula(recommender: Recommender) -> str:
    """How the model turns the sum of the parts (the logit) into the prediction, for display."""
    own = getattr(recommender.model, "output_formula", None)
    if callable(own):
        return f"predicted = {own()}"
    lo, hi = recommender.model_config.y_range or (0.0, 1.0)
    return f"predicted = {lo:g} + {hi - lo:g} * sigmoid(logit)"


@dataclass(frozen=True)
class Because:
    """A liked item close to the explained one: its id, title, cosine and rating (or fitted value)."""

    item: str
    title: str
    cosine: float
    rating: float

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "title": self.title,
            "cosine": round(self.cosine, 6),
            "rating": round(self.rating, 4),
        }


@dataclass(frozen=True)
class Explanation:
    """One recommended (or asked-about) item, its prediction split and the liked items behind it."""

    item: ItemScore
    parts: dict[str, float]
    logit: float
    prediction: float
    because: list[Because] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.item.to_json() | {
            "parts": {k: round(v, 6) for k, v in self.parts.items()},
            "logit": round(self.logit, 6),
            "prediction": round(self.prediction, 6),
            "because": [b.to_json() for b in self.because],
        }


def because_you_liked(recommender: Recommender, item: int, liked: Liked, n: int = 3) -> list[Because]:
    """The ``n`` liked items whose factors have the highest cosine with item index ``item``'s."""
    factors = recommender.item_factors()
    if factors is None or len(liked.items) == 0:
        return []
    unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
    cosine = unit[liked.items] @ unit[item]  # (n_liked,)
    cosine[liked.items == item] = -np.inf
    order = [j for j in np.argsort(-cosine, kind="stable")[:n] if np.isfinite(cosine[j])]
    return [
        Because(
            recommender.item_ids.raw(int(liked.items[j])),
            recommender.title(int(liked.items[j])),
            float(cosine[j]),
            float(liked.values[j]),
        )
        for j in order
    ]


def explain(
    recommender: Recommender, user: object, items: list[ItemScore], ratings: Ratings | None = None, n_because: int = 3
) -> tuple[list[Explanation], Liked]:
    """Explanations of ``items`` (e.g. a user's recommendations) for ``user`` (raw id).

    ``ratings`` are the training ratings on the recommender's indices; without them the user's
    liked items are read from the model's fitted predictions (``Liked.basis`` says which).
    """
    row = recommender.user_ids.index(user)
    liked = liked_items(recommender, row, ratings)
    indices = np.asarray([entry.index for entry in items], dtype=np.int64)
    split = prediction_parts(recommender, np.full(len(indices), row), indices)
    explanations = [
        Explanation(
            entry,
            {k: float(v[j]) for k, v in split.parts.items()},
            float(split.logit[j]),
            float(split.prediction[j]),
            because_you_liked(recommender, entry.index, liked, n_because),
        )
        for j, entry in enumerate(items)
    ]
    return explanations, liked


def explain_pair(recommender: Recommender, user: object, item: object, ratings: Ratings | None = None) -> Explanation:
    """The explanation of one (user, item) prediction, both given as raw ids (or an exact title)."""
    index = recommender.item_index(item)
    score = recommender.predict(user, recommender.item_ids.raw(index))
    entry = ItemScore(recommender.item_ids.raw(index), index, recommender.title(index), score)
    return explain(recommender, user, [entry], ratings)[0][0]
