"""The reference libraries, each turned into dense score matrices over embrec's indices.

Every function takes the training ratings (``Ratings``, embrec indices) and returns a
:class:`Fitted`: the predicted-rating matrix (``None`` for ranking-only libraries), the matrix
lists are ranked by, the seconds spent in the library's fit call (building its input format is
not counted, nor is scoring), and the settings used. Each library is imported inside its
function, so the harness runs with whichever of them are installed.

Score matrices are computed from each library's learned parameters with its own prediction
formula (vectorised); :func:`check_surprise` compares them with Surprise's own ``predict`` on
the test pairs, so a mismatch in the re-implementation cannot go unnoticed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import sparse

from embrec.data.ratings import Ratings

LIBRARIES = {"surprise": "surprise", "implicit": "implicit", "fastai": "fastai.collab"}


@dataclass
class Fitted:
    ratings: np.ndarray | None  # (n_users, n_items) predicted ratings, or None (ranking only)
    ranking: np.ndarray  # (n_users, n_items) scores that order the lists
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)


def available(library: str) -> bool:
    """Whether a reference library (a key of :data:`LIBRARIES`) can be imported here."""
    try:
        return importlib.util.find_spec(LIBRARIES[library].split(".")[0]) is not None and _imports(LIBRARIES[library])
    except (ImportError, ValueError):
        return False


def _imports(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


# --- Surprise -------------------------------------------------------------------------------

SURPRISE_MODELS = ("BaselineOnly", "SVD", "SVDpp", "KNNBaseline")


def fit_surprise(train: Ratings, name: str, seed: int) -> tuple[Fitted, Any]:
    """Surprise ``name`` with its defaults (KNNBaseline: item-based, pearson_baseline similarity)."""
    import surprise

    frame = pd.DataFrame({"user": train.users, "item": train.items, "rating": train.ratings.astype(np.float64)})
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=train.scale)).build_full_trainset()
    if name == "KNNBaseline":
        algo = surprise.KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False)
        params: dict[str, Any] = {"k": 40, "sim": "pearson_baseline", "user_based": False}
    elif name == "BaselineOnly":
        algo, params = surprise.BaselineOnly(verbose=False), {"baseline": "als (defaults)"}
    else:
        algo = getattr(surprise, name)(random_state=seed)
        params = {"factors": algo.n_factors, "epochs": algo.n_epochs, "lr": algo.lr_bu, "reg": algo.reg_bu}
    start = time.perf_counter()
    algo.fit(trainset)
    seconds = time.perf_counter() - start
    estimate = _surprise_estimates(algo, trainset, name, train.n_users, train.n_items)
    return Fitted(np.clip(estimate, *train.scale), estimate, seconds, params), algo


def _surprise_estimates(algo: Any, trainset: Any, name: str, n_users: int, n_items: int) -> np.ndarray:
    """Surprise's unclipped ``estimate`` for every (user, item), from its learned parameters."""
    uid = np.array([int(trainset.to_raw_uid(u)) for u in trainset.all_users()], dtype=np.int64)
    iid = np.array([int(trainset.to_raw_iid(i)) for i in trainset.all_items()], dtype=np.int64)
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    bu[uid], bi[iid] = np.asarray(algo.bu)[: len(uid)], np.asarray(algo.bi)[: len(iid)]
    base = trainset.global_mean + bu[:, None] + bi[None, :]
    if name == "BaselineOnly":
        return base.astype(np.float32)
    if name == "KNNBaseline":
        return _knn_baseline(algo, trainset, base, uid, iid).astype(np.float32)
    p, q = np.zeros((n_users, algo.n_factors)), np.zeros((n_items, algo.n_factors))
    p[uid], q[iid] = algo.pu, algo.qi
    if name == "SVDpp":
        for inner in trainset.all_users():
            rated = [j for j, _ in trainset.ur[inner]]
            p[uid[inner]] += np.asarray(algo.yj)[rated].sum(axis=0) / np.sqrt(len(rated))
    return (base + p @ q.T).astype(np.float32)


def _knn_baseline(algo: Any, trainset: Any, base: np.ndarray, uid: np.ndarray, iid: np.ndarray) -> np.ndarray:
    """Item-based KNNBaseline: ``b_ui + sum_j s_ij (r_uj - b_uj) / sum_j s_ij`` over the ``k`` most
    similar items ``j`` the user rated, keeping those with ``s_ij > 0`` (Surprise's estimate)."""
    out = base.copy()
    sim = np.asarray(algo.sim)
    for inner_u in trainset.all_users():
        u = uid[inner_u]
        rated = np.array([j for j, _ in trainset.ur[inner_u]], dtype=np.int64)
        values = np.array([r for _, r in trainset.ur[inner_u]])
        residual = values - base[u, iid[rated]]  # (n_rated,)
        s = sim[:, rated]  # (n_known_items, n_rated)
        if len(rated) > algo.k:
            keep = np.argpartition(-s, algo.k - 1, axis=1)[:, : algo.k]
            s_top = np.take_along_axis(s, keep, axis=1)
            r_top = residual[keep]
        else:
            s_top, r_top = s, np.broadcast_to(residual, s.shape)
        positive = np.where(s_top > 0, s_top, 0.0)
        total = positive.sum(axis=1)
        enough = (s_top > 0).sum(axis=1) >= algo.min_k
        shift = np.where(enough & (total != 0), (positive * r_top).sum(axis=1) / np.where(total != 0, total, 1), 0.0)
        out[u, iid] += shift
    return out


def check_surprise(algo: Any, fitted: Fitted, test: Ratings) -> float:
    """Largest difference between Surprise's own ``predict`` and the matrix on the test pairs."""
    assert fitted.ratings is not None
    ours = fitted.ratings[test.users, test.items]
    theirs = np.array([algo.predict(int(u), int(i)).est for u, i in zip(test.users, test.items, strict=True)])
    return float(np.abs(ours - theirs).max())


# --- implicit -------------------------------------------------------------------------------


def positives(train: Ratings, threshold: float) -> sparse.csr_matrix:
    """Binary user x item matrix of the training ratings >= ``threshold`` (implicit's input)."""
    keep = train.ratings >= threshold
    data = np.ones(int(keep.sum()), dtype=np.float32)
    return sparse.csr_matrix((data, (train.users[keep], train.items[keep])), shape=(train.n_users, train.n_items))


def fit_implicit(
    train: Ratings, name: str, params: dict[str, Any], threshold: float, seed: int, threads: int = 1
) -> Fitted:
    """implicit's ``als`` or ``bpr`` on the ratings >= ``threshold`` with ``threads``; lists by ``u . v``."""
    import implicit
    from threadpoolctl import threadpool_limits

    matrix = positives(train, threshold)
    if name == "ALS":
        model = implicit.als.AlternatingLeastSquares(**params, random_state=seed, num_threads=threads)
    else:
        model = implicit.bpr.BayesianPersonalizedRanking(**params, random_state=seed, num_threads=threads)
    with threadpool_limits(1, "blas"):  # implicit's own advice for its multi-threaded solver
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        seconds = time.perf_counter() - start
    scores = np.asarray(model.user_factors) @ np.asarray(model.item_factors).T
    return Fitted(None, scores.astype(np.float32), seconds, dict(params))


IMPLICIT_GRIDS: dict[str, list[dict[str, Any]]] = {
    "ALS": [{"factors": f, "regularization": r, "iterations": 15} for f in (32, 64, 128) for r in (0.05, 1.0)],
    "BPR": [
        {"factors": f, "learning_rate": lr, "regularization": 0.01, "iterations": 100}
        for f in (32, 64, 128)
        for lr in (0.01, 0.05)
    ],
}


# --- closed-form references ------------------------------------------------------------------


def fit_ease(train: Ratings, params: dict[str, Any], threshold: float) -> Fitted:
    """EASE (Steck 2019): ``B = I - P / diag(P)``, ``P = (X'X + lambda I)^-1``; lists by ``X B``.

    ``X`` holds the user's ratings >= ``threshold`` (``positives_only``) or all rated items.
    """
    start = time.perf_counter()
    x = positives(train, threshold if params["positives_only"] else -np.inf).toarray().astype(np.float64)
    gram = x.T @ x + params["lambda"] * np.eye(train.n_items)
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    seconds = time.perf_counter() - start
    return Fitted(None, (x @ b).astype(np.float32), seconds, dict(params))


EASE_GRID = [{"lambda": lam, "positives_only": pos} for lam in (50.0, 200.0, 500.0, 1000.0) for pos in (True, False)]


# --- fastai ---------------------------------------------------------------------------------


def fit_fastai(train: Ratings, use_nn: bool, seed: int) -> Fitted:
    """fastai's ``collab_learner`` in the book's setting (chapter 8).

    ``n_factors=50, y_range=(0, 5.5)``, ``fit_one_cycle(5, 5e-3, wd=0.1)``, batch size 64; the
    ``use_nn`` variant with ``layers=[100, 50]``. Trained on the whole training fold (fastai's
    validation set is a 1,000-rating sample of it, shown by fastai only, never used to choose
    anything). Unknown users/items map to fastai's ``#na#`` row, as fastai itself does.
    """
    from fastai.collab import CollabDataLoaders, TabularCollab, collab_learner  # noqa: F401
    from fastai.data.block import TransformBlock
    from fastai.tabular.core import Categorify
    from fastai.torch_core import set_seed

    frame = pd.DataFrame({"user": train.users, "item": train.items, "rating": train.ratings})
    rng = np.random.default_rng(seed)
    splits = (list(range(len(frame))), sorted(rng.choice(len(frame), 1000, replace=False).tolist()))
    set_seed(seed)
    names = ["user", "item"]
    table = TabularCollab(frame, [Categorify], names, y_names=["rating"], y_block=TransformBlock(), splits=splits)
    dls = table.dataloaders(bs=64)
    if use_nn:
        learn = collab_learner(dls, use_nn=True, y_range=(0, 5.5), layers=[100, 50])
    else:
        learn = collab_learner(dls, n_factors=50, y_range=(0, 5.5))
    with _quiet(learn):
        start = time.perf_counter()
        learn.fit_one_cycle(5, 5e-3, wd=0.1)
        seconds = time.perf_counter() - start
    codes = [_codes(dls.classes[name], n) for name, n in (("user", train.n_users), ("item", train.n_items))]
    scores = _fastai_scores(learn.model, codes[0], codes[1], use_nn)
    params = {"n_factors": 50, "y_range": (0, 5.5), "epochs": 5, "lr": 5e-3, "wd": 0.1, "bs": 64}
    return Fitted(scores, scores, seconds, params | ({"layers": [100, 50]} if use_nn else {}))


@contextlib.contextmanager
def _quiet(learn: Any) -> Iterator[None]:
    with learn.no_bar(), learn.no_logging():
        yield


def _codes(classes: Any, n: int) -> np.ndarray:
    """fastai's category code of each embrec index (0, fastai's ``#na#``, when it never saw it)."""
    codes = np.zeros(n, dtype=np.int64)
    for code, value in enumerate(classes):
        if code > 0:
            codes[int(value)] = code
    return codes


def _fastai_scores(model: Any, users: np.ndarray, items: np.ndarray, use_nn: bool) -> np.ndarray:
    model.eval()
    u, i = torch.from_numpy(users), torch.from_numpy(items)
    with torch.inference_mode():
        if not use_nn:
            logits = model.u_weight(u) @ model.i_weight(i).T + model.u_bias(u) + model.i_bias(i).T
            lo, hi = model.y_range
            return (lo + (hi - lo) * torch.sigmoid(logits)).numpy()
        rows = []
        for user in u.split(64):
            pairs = torch.stack([user.repeat_interleave(len(i)), i.repeat(len(user))], dim=1)
            rows.append(model(pairs, torch.empty(len(pairs), 0)).reshape(len(user), len(i)))
        return torch.cat(rows).numpy()
