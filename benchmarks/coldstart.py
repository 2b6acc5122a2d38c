"""Cold-start figures on MovieLens 100k: new users from a few answers or their tastes, new items.

Run: ``.venv/bin/python benchmarks/coldstart.py [--data PATH] [--seed 0]``. Prints tables and exits
non-zero when a target is missed. The ``dot`` model with embrec's defaults throughout.

New users (issue 6 protocol). 20% of the users are held out entirely; the model is trained on the
rest. For each held-out user with at least ``MIN_RATINGS`` ratings, n = 0, 1, 3, 5, 10, 20 of their
ratings are revealed, chosen by the questionnaire among the items they rated, and separately at
random (nested: the first n of 20); RMSE and NDCG@10 are measured on their remaining ratings
(lists exclude the revealed items; relevant = rating >= 4). ``fold-in`` places each user from the
revealed ratings in the trained model (items frozen); ``retrain`` trains again from scratch on the
training users plus every held-out user's revealed ratings (one retrain per n and strategy, all
users together). At n = 0: the average user, the two fallbacks, and the genre/demographic path
with each user's "answers" (their 3 genres of highest lift among the films they rated >= 4, and
their age, gender and occupation).

New items. 20% of the items are held out; the model is trained on the ratings of the others. Each
held-out item is placed from its metadata (genres, year) or, as the fallback, as the mean item;
then folded in from n = 1, 3, 5, 10 random ratings. Measured on its remaining ratings: RMSE, and
NDCG@10 of the users ranked for it (users-for-item; relevant = rated it >= 4).

Targets: fold-in RMSE at n = 10 within 2% of the retrain's (both strategies); questionnaire beats
random at n = 5 (RMSE); genre/demographic answers beat the popularity fallback at n = 0 (RMSE and
NDCG@10); metadata beats the item mean at n = 0 (RMSE); fold-in of one user under 5 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import sparse

from embrec.artifacts.model_dir import load, save
from embrec.coldstart.fallbacks import popularity_fallback, popularity_ranking, representative_fallback
from embrec.coldstart.fold_in import fold_in, predict_folded
from embrec.coldstart.metrics import cold_metrics
from embrec.coldstart.new_items import fit_metadata_model, item_years
from embrec.coldstart.preferences import Preferences, from_preferences, genre_matrix
from embrec.coldstart.prior import FoldedRows, Prior, population_prior
from embrec.coldstart.questionnaire import questionnaire, random_items
from embrec.data.movielens import load_movielens
from embrec.data.ratings import Ratings
from embrec.evaluation.ranking_metrics import ndcg_at_k
from embrec.evaluation.rating_metrics import rmse
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

REVEALS = (0, 1, 3, 5, 10, 20)
ITEM_REVEALS = (0, 1, 3, 5, 10)
MIN_RATINGS = 30
HOLDOUT = 0.2
K = 10
LIKED_GENRES = 3


@dataclass(frozen=True)
class Row:
    path: str
    n: int
    metrics: dict[str, Any]


CACHE: Path | None = None  # --cache: trained models kept by training data and config


def train(ratings: Ratings, config: TrainConfig) -> Recommender:
    key = hashlib.sha256((ratings.fingerprint() + json.dumps(config.to_json(), sort_keys=True)).encode()).hexdigest()
    if CACHE is not None and (CACHE / key[:16]).is_dir():
        return load(CACHE / key[:16])
    model, resolved, _ = train_model(ratings, ModelConfig(kind="dot"), config)
    recommender = Recommender.from_training(model, resolved, ratings, config)
    if CACHE is not None:
        save(recommender, CACHE / key[:16])
    return recommender


# --- new users ---------------------------------------------------------------------------
def user_part(
    full: Ratings, config: TrainConfig, seed: int, console: Console, retrain: bool = True
) -> tuple[list[Row], dict[str, float]]:
    rng = np.random.default_rng(seed)
    held = rng.choice(full.n_users, int(HOLDOUT * full.n_users), replace=False)
    in_held = np.isin(full.users, held)
    base_ratings = full.subset(~in_held, name="train")
    t0 = time.perf_counter()
    base = train(base_ratings, config)
    console.print(f"trained on {len(base_ratings)} ratings in {time.perf_counter() - t0:.1f} s")
    prior = population_prior(base)
    counts = np.bincount(full.users[in_held], minlength=full.n_users)
    users = np.sort(held[counts[held] >= MIN_RATINGS])
    own = {int(u): np.flatnonzero(full.users == u) for u in users}  # rows of full
    choose = {
        "questionnaire": lambda u, items: questionnaire(base, REVEALS[-1], candidates=items, prior=prior),
        "random": lambda u, items: random_items(base, REVEALS[-1], seed + u, candidates=items),
    }
    orders = {  # each user's rows of ``full`` in the order they are revealed
        name: {u: rows[_index_of(full.items[rows], pick(u, full.items[rows]))] for u, rows in own.items()}
        for name, pick in choose.items()
    }
    rows_out = _zero_rows(full, base, prior, users, own)
    timing = _fold_timing(base, prior, full, orders["questionnaire"])
    for strategy, order in orders.items():
        for n in REVEALS[1:]:
            revealed = np.concatenate([order[u][:n] for u in own])
            remaining = np.setdiff1d(np.concatenate(list(own.values())), revealed)
            test = full.subset(remaining, name="remaining")
            shown = _revealed_matrix(full, users, revealed)
            folded = np.stack([_folded(base, prior, full, order[u][:n]) for u in own])
            rows_out.append(Row(f"fold-in {strategy}", n, both_rankings(base, users, folded, test, shown)))
            console.print(f"{strategy} n={n}: fold-in rmse {rows_out[-1].metrics['rmse']:.4f}")
            if not retrain:
                continue
            t0 = time.perf_counter()
            retrained = train(base_ratings.concat(full.subset(revealed)), config)
            scores = retrained.score_users(users).numpy()
            seconds = {"seconds": time.perf_counter() - t0}
            metrics = both_rankings(retrained, users, scores, test, shown) | seconds
            rows_out.append(Row(f"retrain {strategy}", n, metrics))
            console.print(f"{strategy} n={n}: retrain rmse {rows_out[-1].metrics['rmse']:.4f}")
    return rows_out, timing


def _folded(base: Recommender, prior: Prior, full: Ratings, rows: np.ndarray) -> np.ndarray:
    return predict_folded(base, fold_in(base, full.items[rows], full.ratings[rows], prior=prior))


def _index_of(items: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Positions in ``items`` of each chosen item, in the chosen order."""
    position = {int(i): p for p, i in enumerate(items)}
    return np.asarray([position[int(i)] for i in chosen], dtype=np.int64)


def _revealed_matrix(full: Ratings, users: np.ndarray, revealed_rows: np.ndarray) -> sparse.csr_matrix:
    row_of = np.full(full.n_users, -1)
    row_of[users] = np.arange(len(users))
    data = np.ones(len(revealed_rows), dtype=bool)
    where = (row_of[full.users[revealed_rows]], full.items[revealed_rows])
    return sparse.csr_matrix((data, where), shape=(len(users), full.n_items))


def both_rankings(
    rec: Recommender, users: np.ndarray, predictions: np.ndarray, test: Ratings, shown: sparse.csr_matrix | None
) -> dict[str, Any]:
    """Metrics with lists ranked by predicted rating, and by popularity corrected by it (``ndcg pop``)."""
    ranking = np.stack([popularity_ranking(rec, p) for p in predictions])
    corrected = cold_metrics(users, predictions, ranking, test, shown, K)
    return cold_metrics(users, predictions, predictions, test, shown, K) | {f"ndcg@{K} pop": corrected[f"ndcg@{K}"]}


def _zero_rows(
    full: Ratings, base: Recommender, prior: Prior, users: np.ndarray, own: dict[int, np.ndarray]
) -> list[Row]:
    test = full.subset(np.concatenate(list(own.values())), name="all")
    tile = (len(users), 1)
    out = []
    average = base.score_users(users).numpy()  # fill_untrained: the mean trained rows
    out.append(Row("average user (= retrain n=0)", 0, both_rankings(base, users, average, test, None)))
    for cold in (representative_fallback(base, prior), popularity_fallback(base, prior)):
        metrics = both_rankings(base, users, np.tile(cold.predictions, tile), test, None)
        out.append(Row(f"fallback: {cold.name}", 0, metrics))
    for label, with_demographics in (("genres", False), ("genres + demographics", True)):
        answers = [_answers(full, base, own[u], u, with_demographics) for u in own]
        preds = np.stack([predict_folded(base, from_preferences(base, a, prior)) for a in answers])
        out.append(Row(label, 0, both_rankings(base, users, preds, test, None)))
    return out


def _answers(full: Ratings, base: Recommender, rows: np.ndarray, user: int, demographics: bool) -> Preferences:
    """What the user would say: the genres of highest lift among the films they rated >= 4."""
    member, names = genre_matrix(base)
    liked = full.items[rows][full.ratings[rows] >= 4]
    share = np.asarray(base.item_popularity, dtype=float) @ member / max(base.item_popularity.sum(), 1)
    counts = member[liked].sum(axis=0)
    usable = (counts >= 2) & (np.asarray(names) != "unknown")
    lift = np.where(usable, (counts / max(len(liked), 1)) / np.maximum(share, 1e-6), -np.inf)
    genres = tuple(names[g] for g in np.argsort(-lift, kind="stable")[:LIKED_GENRES] if np.isfinite(lift[g]))
    if not demographics or full.user_table is None:
        return Preferences(genres=genres)
    person = full.user_table.iloc[user]
    return Preferences(genres, float(person["age"]), str(person["gender"]), str(person["occupation"]))


def _fold_timing(base: Recommender, prior: Prior, full: Ratings, order: dict[int, np.ndarray]) -> dict[str, float]:
    chosen = [order[u][:10] for u in order]
    start = time.perf_counter()
    for rows in chosen:
        fold_in(base, full.items[rows], full.ratings[rows], prior=prior)
    per_user = (time.perf_counter() - start) / len(chosen)
    start = time.perf_counter()
    population_prior(base)
    return {"fold_in_ms": 1000 * per_user, "prior_ms": 1000 * (time.perf_counter() - start)}


# --- new items ---------------------------------------------------------------------------
def item_part(full: Ratings, config: TrainConfig, seed: int, console: Console) -> list[Row]:
    rng = np.random.default_rng(seed + 1)
    held = rng.choice(full.n_items, int(HOLDOUT * full.n_items), replace=False)
    in_held = np.isin(full.items, held)
    base = train(full.subset(~in_held, name="train"), config)
    prior = population_prior(base, "item")
    metadata = fit_metadata_model(base)
    member, names = genre_matrix(base)
    years = item_years(base)
    counts = np.bincount(full.items[in_held], minlength=full.n_items)
    items = np.sort(held[counts[held] >= MIN_RATINGS // 2])
    own = {int(i): rng.permutation(np.flatnonzero(full.items == i)) for i in items}
    out = []
    placements: dict[str, Callable[[int, np.ndarray], FoldedRows]] = {
        "item mean (fallback)": lambda i, r: FoldedRows("item", prior.layout.split(prior.mean), "none"),
        "metadata": lambda i, r: metadata.place(
            [names[g] for g in np.flatnonzero(member[i])], None if np.isnan(years[i]) else float(years[i])
        ),
        "fold-in": lambda i, r: fold_in(base, full.users[r], full.ratings[r], side="item", prior=prior),
    }
    for n in ITEM_REVEALS:
        for label, place in placements.items():
            if (n == 0) == (label == "fold-in"):
                continue
            out.append(Row(f"item: {label}", n, _item_metrics(base, full, own, n, place)))
        console.print(f"items n={n}: " + ", ".join(f"{r.path} {r.metrics['rmse']:.4f}" for r in out if r.n == n))
    return out


def _item_metrics(
    base: Recommender, full: Ratings, own: dict[int, np.ndarray], n: int, place: Callable[[int, np.ndarray], FoldedRows]
) -> dict[str, Any]:
    predicted, actual, hits, relevant = [], [], [], []
    for item, rows in own.items():
        scores = predict_folded(base, place(item, rows[:n]))  # (n_users,)
        rest = rows[n:]
        predicted.append(scores[full.users[rest]])
        actual.append(full.ratings[rest])
        scores[full.users[rows[:n]]] = -np.inf
        liked = set(full.users[rest][full.ratings[rest] >= 4].tolist())
        if liked:
            top = np.argsort(-scores, kind="stable")[:K]
            hits.append([int(u) in liked for u in top])
            relevant.append(len(liked))
    return {
        "rmse": rmse(np.concatenate(predicted), np.concatenate(actual)),
        f"ndcg@{K}": ndcg_at_k(np.asarray(hits), np.asarray(relevant), K),
        "n_test": int(sum(len(a) for a in actual)),
    }


# --- report ------------------------------------------------------------------------------
def table(title: str, rows: list[Row]) -> Table:
    out = Table(title=title)
    columns = ("path", "n", "rmse", f"ndcg@{K}", f"ndcg@{K} pop", "n_test", "seconds")
    for column in columns:
        out.add_column(column, justify="left" if column == "path" else "right")
    for row in rows:
        m = row.metrics
        cells = [_cell(m.get(c)) for c in columns[2:5]]
        out.add_row(row.path, str(row.n), *cells, str(m["n_test"]), f"{m['seconds']:.1f}" if "seconds" in m else "")
    return out


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def checks(users: list[Row], items: list[Row], timing: dict[str, float]) -> list[tuple[str, bool, str]]:
    def get(path: str, n: int, key: str = "rmse") -> float:
        found = [r.metrics[key] for r in users + items if r.path == path and r.n == n]
        return float(found[0]) if found else float("nan")  # skipped: every comparison fails

    out = []
    for strategy in ("questionnaire", "random"):
        fold, re = get(f"fold-in {strategy}", 10), get(f"retrain {strategy}", 10)
        out.append((f"fold-in within 2% of retrain at n=10 ({strategy})", fold <= 1.02 * re, f"{fold:.4f} vs {re:.4f}"))
    q, r = get("fold-in questionnaire", 5), get("fold-in random", 5)
    out.append(("questionnaire beats random at n=5 (rmse)", q < r, f"{q:.4f} vs {r:.4f}"))
    for key in ("rmse", f"ndcg@{K} pop"):
        g, p = get("genres + demographics", 0, key), get("fallback: popularity", 0, key)
        better = g < p if key == "rmse" else g > p
        out.append((f"genres + demographics beat popularity at n=0 ({key})", better, f"{g:.4f} vs {p:.4f}"))
    m, f = get("item: metadata", 0), get("item: item mean (fallback)", 0)
    out.append(("metadata beats the item mean for new items at n=0 (rmse)", m < f, f"{m:.4f} vs {f:.4f}"))
    out.append(("fold-in of one user under 5 ms", timing["fold_in_ms"] < 5, f"{timing['fold_in_ms']:.2f} ms"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-retrain", action="store_true", help="skip the retrains (quick look; targets fail)")
    parser.add_argument("--no-items", action="store_true", help="skip the new-item part (quick look; targets fail)")
    parser.add_argument("--cache", type=Path, default=None, help="keep trained models here and reuse them on reruns")
    args = parser.parse_args()
    global CACHE
    CACHE = args.cache
    console = Console()
    full = load_movielens(args.data)
    config = TrainConfig(seed=args.seed)
    user_rows, timing = user_part(full, config, args.seed, console, not args.no_retrain)
    item_rows = [] if args.no_items else item_part(full, config, args.seed, console)
    console.print(table("new users (held-out users, remaining ratings)", user_rows))
    console.print(table("new items (held-out items, remaining ratings)", item_rows))
    console.print(
        f"fold-in of one user (n=10): {timing['fold_in_ms']:.2f} ms; "
        f"population prior: {timing['prior_ms']:.1f} ms (once per model)"
    )
    results = checks(user_rows, item_rows, timing)
    report = Table(title="targets")
    for column in ("target", "met", "value"):
        report.add_column(column)
    for name, ok, value in results:
        report.add_row(name, "yes" if ok else "[red]NO[/]", value)
    console.print(report)
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
