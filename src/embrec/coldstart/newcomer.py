"""One entry point for a newcomer: whatever they told us -> predictions and a list.

* ratings given: :func:`~embrec.coldstart.fold_in.fold_in` from them; when genres (or age, gender,
  occupation) are given too, the fold-in starts from, and is pulled towards, the mean of the similar
  users instead of the average user (the prior mean is moved there).
* only preferences: the mean of similar users (:mod:`embrec.coldstart.preferences`).
* nothing: :func:`~embrec.coldstart.fallbacks.fallback` (the default one).

With a ``widedeep`` model, age, gender and occupation also enter as the model's own side features
(:mod:`embrec.coldstart.features`): the newcomer's feature row is set from them in every path, and
with demographics but no ratings and no genres the list is the features-only model's.

Lists are ranked like the popularity fallback, ``log(1 + n_i) + logit(predicted rating)``, rated
items excluded: with 0 to 20 known ratings, what a newcomer has heard of matters as much as taste.
``benchmarks/coldstart.py`` measures both orders on held-out MovieLens users ("ndcg@10" by predicted
rating, "ndcg@10 pop" by this one): the corrected order wins clearly at every n it tries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from embrec.coldstart.fallbacks import ColdList, fallback, popularity_ranking
from embrec.coldstart.features import attribute_rows, features_only_scores
from embrec.coldstart.fold_in import fold_in, predict_folded, resolve_answers
from embrec.coldstart.preferences import Preferences, from_preferences
from embrec.coldstart.prior import FoldedRows, Prior, population_prior
from embrec.recommend.recommender import MAX_K, ItemScore, Recommender


def place_newcomer(
    recommender: Recommender,
    answers: Mapping[object, float] | None = None,
    preferences: Preferences | None = None,
    prior: Prior | None = None,
) -> ColdList:
    """Predictions and ranking scores of every item for a newcomer (see the module docstring)."""
    prior = prior if prior is not None else population_prior(recommender, "user")
    preferences = preferences or Preferences()
    indices, values = resolve_answers(recommender, answers or {})
    person = {"age": preferences.age, "gender": preferences.gender, "occupation": preferences.occupation}
    attributes = attribute_rows(recommender, "user", person)
    if len(indices):
        if preferences != Preferences():
            placed = from_preferences(recommender, preferences, prior)
            prior = replace(prior, mean=np.concatenate([np.ravel(placed.rows[n]) for n in prior.layout.names]))
        folded = fold_in(recommender, indices, values, prior=prior, attributes=attributes)
        predictions = predict_folded(recommender, folded)
        ranking = popularity_ranking(recommender, predictions)
        ranking[indices] = -np.inf
        return ColdList("fold-in", predictions, ranking, folded)
    features_only = features_only_scores(recommender, "user", person)
    if features_only is not None and not preferences.genres:
        placed = FoldedRows("user", prior.layout.split(prior.mean) | attributes, "features-only")
        return ColdList("features-only", features_only, popularity_ranking(recommender, features_only), placed)
    if preferences != Preferences():
        found = from_preferences(recommender, preferences, prior)
        placed = FoldedRows("user", found.rows | attributes, found.method)
        predictions = predict_folded(recommender, placed)
        return ColdList("similar users", predictions, popularity_ranking(recommender, predictions), placed)
    return fallback(recommender, prior=prior)


def newcomer_list(recommender: Recommender, cold: ColdList, k: int = 10) -> list[ItemScore]:
    """The ``k`` best items by ``cold.ranking`` (rated items excluded), scored by predicted rating."""
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    order = np.argsort(-cold.ranking, kind="stable")[:k]
    order = order[np.isfinite(cold.ranking[order])]
    return [
        ItemScore(recommender.item_ids.raw(int(i)), int(i), recommender.title(int(i)), float(cold.predictions[i]))
        for i in order
    ]
