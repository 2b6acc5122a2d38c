"""Scores for brand-new users and items from their attributes alone (a ``widedeep`` model).

A new user is a row of attributes with the columns of the training user table (``age``,
``gender``, ``occupation``, ``zip`` for MovieLens); a new item, a row like the item table's
(``genres``, ``year``). The rows are encoded with the vocabularies saved in the model config
(an unseen or missing value goes to the unknown slot) and scored by the model's deep and wide
parts with the new side's id terms left out (see :class:`~embrec.models.wide_deep.WideAndDeep`)::

    rec = embrec.artifacts.model_dir.load("runs/widedeep")
    scores = score_new_users(rec, pd.DataFrame([{"age": 31, "gender": "F", "occupation": "writer"}]))
    # scores: (1, n_items) predicted ratings of every catalog item
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from embrec.data.side_features import Side, SideFeatures
from embrec.models.wide_deep import WideAndDeep
from embrec.recommend.recommender import Recommender


def side_features(recommender: Recommender) -> SideFeatures:
    """The fitted feature encoding of a ``widedeep`` recommender."""
    if recommender.model_config.features is None or not isinstance(recommender.model, WideAndDeep):
        raise ValueError(f"a {recommender.model_config.kind!r} model has no side features; train --model widedeep")
    return SideFeatures.from_json(recommender.model_config.features)


def encode_rows(recommender: Recommender, side: Side, rows: pd.DataFrame) -> torch.Tensor:
    """The feature rows (len(rows), width) of raw attribute rows of one side."""
    spec = side_features(recommender)
    encoded = spec.encode(side, rows) if spec.of(side) else np.zeros((len(rows), 0), dtype=np.int64)
    return torch.from_numpy(encoded)


def score_new_users(recommender: Recommender, rows: pd.DataFrame) -> np.ndarray:
    """Predicted ratings (len(rows), n_items) of every item for new users given by attributes."""
    user_rows = encode_rows(recommender, "user", rows)
    model = _model(recommender)
    with torch.inference_mode():
        return model.score_new_users(user_rows).numpy().copy()


def score_new_items(recommender: Recommender, rows: pd.DataFrame) -> np.ndarray:
    """Predicted ratings (len(rows), n_users) of new items, given by attributes, for every user."""
    item_rows = encode_rows(recommender, "item", rows)
    model = _model(recommender)
    with torch.inference_mode():
        return model.score_new_items(item_rows).numpy().copy()


def _model(recommender: Recommender) -> WideAndDeep:
    side_features(recommender)  # raises for other kinds
    model = recommender.model
    assert isinstance(model, WideAndDeep)
    model.eval()
    return model
