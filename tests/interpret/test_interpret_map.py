"""The taste map is the PCA of the centred item factors, named by the titles at its ends."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.interpret.embedding_map import pca, taste_map, user_vector
from embrec.recommend.recommender import Recommender


def svd_pca(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: coordinates U S and explained shares S^2 / sum(S^2) of the centred rows."""
    centred = rows.astype(np.float64) - rows.astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :k] * s[:k], (s**2 / (s**2).sum())[:k]


def assert_equal_up_to_sign(a: np.ndarray, b: np.ndarray, tol: float) -> None:
    for k in range(a.shape[1]):
        sign = 1.0 if np.dot(a[:, k], b[:, k]) >= 0 else -1.0
        np.testing.assert_allclose(a[:, k], sign * b[:, k], atol=tol, rtol=0)


def test_map_coordinates_equal_an_svd_of_the_centred_factors(recommender: Recommender) -> None:
    taste = taste_map(recommender, min_ratings=5, components=3)
    factors = recommender.item_factors()
    assert factors is not None
    reference, shares = svd_pca(factors[taste.items], 3)
    assert_equal_up_to_sign(taste.coords, reference, 1e-4)
    np.testing.assert_allclose([a.explained for a in taste.axes], shares, atol=1e-6)


def test_pca_of_a_random_matrix_matches_svd_and_fixes_the_sign() -> None:
    rows = np.random.default_rng(3).normal(size=(40, 6)) * np.array([5, 3, 2, 1, 0.5, 0.1])
    fitted = pca(rows)
    reference, shares = svd_pca(rows, 6)
    coords = fitted.project(rows, 6)
    assert_equal_up_to_sign(coords, reference, 1e-8)
    np.testing.assert_allclose(fitted.explained, shares, atol=1e-12)
    np.testing.assert_allclose(fitted.directions.T @ fitted.directions, np.eye(6), atol=1e-10)
    largest = coords[np.argmax(np.abs(coords), axis=0), np.arange(6)]
    assert (largest > 0).all()  # the documented sign convention


def test_only_items_with_enough_ratings_are_mapped(recommender: Recommender) -> None:
    taste = taste_map(recommender, min_ratings=30)
    expected = np.flatnonzero(recommender.item_popularity >= 30)
    np.testing.assert_array_equal(taste.items, expected)
    assert 0 < taste.axes[1].explained <= taste.axes[0].explained <= 1
    with pytest.raises(ValueError, match="min-ratings"):
        taste_map(recommender, min_ratings=10_000)


def test_axes_are_named_by_the_titles_at_their_ends(recommender: Recommender) -> None:
    taste = taste_map(recommender, min_ratings=5, ends=4)
    for k, axis in enumerate(taste.axes):
        order = np.argsort(taste.coords[:, k])
        assert axis.low == tuple(taste.titles[i] for i in order[:4])
        assert axis.high == tuple(taste.titles[i] for i in order[::-1][:4])
        assert axis.name == f"PC{k + 1}" and f"{axis.explained:.1%}" in axis.label()


def test_a_user_is_placed_where_the_interaction_grows(recommender: Recommender) -> None:
    """u . x_i differs from p_u . q_i only by terms that do not depend on the item (all directions kept)."""
    factors = recommender.item_factors()
    assert factors is not None
    taste = taste_map(recommender, min_ratings=0, components=factors.shape[1])
    p_u = user_vector(recommender, "7")
    gap = p_u @ factors[taste.items].T - taste.coords @ taste.user_position(p_u)
    np.testing.assert_allclose(gap, gap[0], atol=1e-5)


def test_json_holds_every_mapped_item(recommender: Recommender) -> None:
    taste = taste_map(recommender, min_ratings=20)
    payload = taste.to_json()
    assert len(payload["items"]) == len(taste.items)
    assert payload["items"][0]["item"] == recommender.item_ids.raw(int(taste.items[0]))
    assert [a["name"] for a in payload["axes"]] == ["PC1", "PC2"]
