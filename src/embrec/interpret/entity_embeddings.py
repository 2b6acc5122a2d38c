"""Entity embeddings of side features: each category's learned vector and its nearest neighbours.

A ``widedeep`` model learns one vector per category of each feature (occupation, age bucket,
genre...). Categories whose vectors point the same way play the same part in predictions: the
neighbours of ``programmer`` are the occupations whose members the model treats alike. Similarity
is the cosine ``e_a . e_b / (|e_a| |e_b|)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embrec.models.wide_deep import WideAndDeep
from embrec.recommend.features_only import side_features
from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class FeatureEmbedding:
    """One feature's table: ``labels[j]`` names row ``j`` of ``vectors`` (size, dim)."""

    feature: str
    labels: list[str]
    vectors: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "labels": self.labels, "vectors": self.vectors.round(6).tolist()}


@dataclass(frozen=True)
class Neighbours:
    category: str
    nearest: list[tuple[str, float]]  # (category, cosine), most similar first

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "nearest": [{"category": c, "cosine": round(s, 4)} for c, s in self.nearest]}


def feature_embedding(recommender: Recommender, feature: str, include_unknown: bool = False) -> FeatureEmbedding:
    """The learned vectors of a feature's categories (the unknown slot only when asked)."""
    spec = side_features(recommender).feature(feature)
    model = recommender.model
    assert isinstance(model, WideAndDeep)  # side_features checked the kind
    vectors = model.field_embedding(feature).numpy().copy()
    labels = spec.labels()
    start = 0 if include_unknown else 1
    return FeatureEmbedding(feature, labels[start:], vectors[start:])


def nearest_categories(table: FeatureEmbedding, k: int = 3) -> list[Neighbours]:
    """For each category, the ``k`` others with the highest cosine similarity."""
    if k < 1:
        raise ValueError("k must be at least 1")
    norms = np.linalg.norm(table.vectors, axis=1, keepdims=True)
    unit = table.vectors / np.maximum(norms, 1e-12)
    cosine = unit @ unit.T  # (size, size)
    np.fill_diagonal(cosine, -np.inf)
    order = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    return [
        Neighbours(label, [(table.labels[j], float(cosine[i, j])) for j in order[i] if np.isfinite(cosine[i, j])])
        for i, label in enumerate(table.labels)
    ]
