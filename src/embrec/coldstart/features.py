"""Cold start through a ``widedeep`` model's side features (the features-only path).

A ``widedeep`` model reads each user's (item's) encoded attributes from a per-entity buffer
(``user_features``/``item_features``) besides its id rows, and is trained with id dropout, so it
can score an entity known by attributes alone (:mod:`embrec.recommend.features_only`). Here:

* :func:`attribute_rows` encodes a newcomer's attributes (age, gender, occupation; for an item,
  genres and year) into the buffer row the model reads. Fold-in and placements carry it as a fixed
  row, and ``add_users``/``add_items`` store it, so the saved entity keeps its attributes.
* :func:`features_only_scores` is the model's prediction from attributes alone, no id.

For every other model both are empty: attributes then only act through the mean of similar users.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from embrec.coldstart.prior import Side
from embrec.models.wide_deep import WideAndDeep
from embrec.recommend.features_only import encode_rows, score_new_items, score_new_users
from embrec.recommend.recommender import Recommender


def has_side_features(recommender: Recommender) -> bool:
    return isinstance(recommender.model, WideAndDeep) and recommender.model_config.features is not None


def attribute_rows(recommender: Recommender, side: Side, attributes: Mapping[str, object]) -> dict[str, np.ndarray]:
    """``{"{side}_features": encoded row}`` for a ``widedeep`` model (unknown slots where absent), else ``{}``."""
    known = {column: value for column, value in attributes.items() if value is not None}
    if not has_side_features(recommender) or not known:
        return {}
    encoded = encode_rows(recommender, side, pd.DataFrame([known]))
    return {f"{side}_features": encoded[0].numpy().copy()}


def features_only_scores(recommender: Recommender, side: Side, attributes: Mapping[str, object]) -> np.ndarray | None:
    """Predictions of every item (user) for a new user (item) from attributes alone, or None."""
    known = {column: value for column, value in attributes.items() if value is not None}
    if not has_side_features(recommender) or not known:
        return None
    score = score_new_users if side == "user" else score_new_items
    return np.asarray(score(recommender, pd.DataFrame([known]))[0], dtype=np.float32)
