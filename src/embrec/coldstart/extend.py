"""Grow a Recommender by new users or items without touching any other weight.

The new entities' rows (from :func:`~embrec.coldstart.fold_in.fold_in` or a placement from
metadata) are appended to every ``{side}_*`` table; the id map is :meth:`IdMap.extended`, the seen
matrix gains rows (columns) for their interactions, item popularity counts them, the side table
gains rows (NaN where unknown). The result is a new Recommender whose model is built from the same
:class:`ModelConfig` with the larger counts, exactly as :func:`embrec.artifacts.model_dir.load`
builds it, so it saves and reloads through the model directory unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from scipy import sparse

from embrec.coldstart.prior import FoldedRows, Side, layout_of, side_size
from embrec.models import build_model
from embrec.recommend.recommender import Recommender


def add_users(
    recommender: Recommender,
    raw_ids: Sequence[str],
    folded: Sequence[FoldedRows],
    seen_items: Sequence[np.ndarray],
    table_rows: pd.DataFrame | None = None,
) -> Recommender:
    """``recommender`` with users ``raw_ids`` appended (rows ``folded``, rated ``seen_items`` indices)."""
    return add_rows(recommender, "user", raw_ids, folded, seen_items, table_rows)


def add_items(
    recommender: Recommender,
    raw_ids: Sequence[str],
    folded: Sequence[FoldedRows],
    seen_users: Sequence[np.ndarray],
    table_rows: pd.DataFrame | None = None,
) -> Recommender:
    """``recommender`` with items ``raw_ids`` appended; ``table_rows`` their titles, genres... if any."""
    return add_rows(recommender, "item", raw_ids, folded, seen_users, table_rows)


def add_rows(
    recommender: Recommender,
    side: Side,
    raw_ids: Sequence[str],
    folded: Sequence[FoldedRows],
    interactions: Sequence[np.ndarray],
    table_rows: pd.DataFrame | None = None,
) -> Recommender:
    """The general form of :func:`add_users` / :func:`add_items`."""
    if not len(raw_ids) == len(folded) == len(interactions):
        raise ValueError("raw_ids, folded and interactions must have the same length")
    ids = recommender.user_ids if side == "user" else recommender.item_ids
    taken = [str(r) for r in raw_ids if r in ids]
    if taken or len(set(map(str, raw_ids))) != len(raw_ids):
        raise ValueError(f"{side} ids already present or repeated: {taken or list(raw_ids)}")
    n = side_size(recommender, side)
    new_ids = ids.extended([str(r) for r in raw_ids])
    n_users = len(new_ids) if side == "user" else recommender.n_users
    n_items = len(new_ids) if side == "item" else recommender.n_items
    model = build_model(n_users, n_items, recommender.model_config)
    model.load_state_dict(_grown_state(recommender, side, n, folded, model.state_dict()), strict=True)
    model.eval()
    seen = _grown_seen(recommender.seen, side, interactions, n_users, n_items)
    changes = {
        f"{side}_ids": new_ids,
        "model": model,
        "seen": seen,
        "item_popularity": np.asarray(seen.sum(axis=0)).ravel().astype(np.int64),
        f"{side}_table": _grown_table(getattr(recommender, f"{side}_table"), list(map(str, raw_ids)), table_rows),
        "info": recommender.info | {f"folded_{side}s": int(recommender.info.get(f"folded_{side}s", 0)) + len(raw_ids)},
    }
    return replace(recommender, **changes)


def replace_user(recommender: Recommender, raw_id: str, folded: FoldedRows, seen_items: np.ndarray) -> Recommender:
    """``recommender`` with one existing user's rows re-estimated; its seen items gain ``seen_items``."""
    return replace_rows(recommender, "user", raw_id, folded, seen_items)


def replace_rows(
    recommender: Recommender, side: Side, raw_id: str, folded: FoldedRows, interactions: np.ndarray
) -> Recommender:
    """One existing row of each ``{side}_*`` table set to ``folded``; nothing else in the model changes."""
    ids = recommender.user_ids if side == "user" else recommender.item_ids
    index = ids.index(raw_id)
    n = side_size(recommender, side)
    state = {name: t.detach().clone() for name, t in recommender.model.state_dict().items()}
    _checked_names(recommender, side, n, [folded])
    for name, row in folded.rows.items():  # the own rows, and attribute rows when given
        state[name][index] = torch.from_numpy(np.asarray(row)).to(state[name].dtype)
    seen = recommender.seen.tolil(copy=True) if side == "user" else recommender.seen.T.tolil(copy=True)
    seen[index, np.asarray(interactions, dtype=np.int64)] = True
    matrix = sparse.csr_matrix(seen if side == "user" else seen.T, dtype=bool)
    model = _rebuilt(recommender, state, recommender.n_users, recommender.n_items)
    popularity = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
    return replace(recommender, model=model, seen=matrix, item_popularity=popularity)


def _checked_names(recommender: Recommender, side: Side, n: int, folded: Sequence[FoldedRows]) -> tuple[str, ...]:
    """The side's own tables; every entry must give a row of each, and may give attribute rows
    (rows of other ``{side}_*`` tensors with a row per entity, e.g. encoded side features)."""
    names = layout_of(recommender.model, side, n).names
    state = recommender.model.state_dict()
    per_entity = {k for k, v in state.items() if k.startswith(f"{side}_") and v.ndim >= 1 and v.shape[0] == n}
    for entry in folded:
        if entry.side != side or not set(names) <= set(entry.rows) <= per_entity:
            raise ValueError(f"folded rows {sorted(entry.rows)} do not fit this model's {side} tables {list(names)}")
    return names


def _grown_state(
    recommender: Recommender, side: Side, n: int, folded: Sequence[FoldedRows], fresh: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The old weights with the new rows appended: ``folded``'s in the side's own tables; in any
    other tensor with a row per entity (an attribute buffer, say), what a freshly built model of
    the new size (``fresh``) holds there."""
    state = {name: t.detach().clone() for name, t in recommender.model.state_dict().items()}
    _checked_names(recommender, side, n, folded)
    for name, tensor in state.items():
        if not (name.startswith(f"{side}_") and tensor.ndim >= 1 and tensor.shape[0] == n):
            continue
        rows = [
            torch.from_numpy(np.asarray(f.rows[name])).to(tensor.dtype) if name in f.rows else fresh[name][n + j]
            for j, f in enumerate(folded)
        ]
        if rows:
            state[name] = torch.cat([tensor, torch.stack(rows).to(tensor.dtype)])
    return state


def _rebuilt(recommender: Recommender, state: dict[str, torch.Tensor], n_users: int, n_items: int) -> torch.nn.Module:
    """A model of the same config and the new counts holding ``state`` (as model_dir.load builds it)."""
    model = build_model(n_users, n_items, recommender.model_config)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model


def _grown_seen(
    seen: sparse.csr_matrix, side: Side, interactions: Sequence[np.ndarray], n_users: int, n_items: int
) -> sparse.csr_matrix:
    """The seen matrix with one new row (user) or column (item) per entry of ``interactions``."""
    width = n_items if side == "user" else n_users
    rows = np.repeat(np.arange(len(interactions)), [len(np.asarray(i)) for i in interactions])
    cols = np.concatenate([np.asarray(i, dtype=np.int64) for i in interactions]) if interactions else np.zeros(0, int)
    block = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(interactions), width))
    grown = sparse.vstack([seen, block]) if side == "user" else sparse.hstack([seen, block.T])
    matrix = sparse.csr_matrix(grown, dtype=bool)
    matrix.sum_duplicates()
    return matrix


def _grown_table(table: pd.DataFrame | None, raw_ids: list[str], rows: pd.DataFrame | None) -> pd.DataFrame | None:
    """The side table with a row per new id: ``rows`` where given (matching columns), else NaN.

    A missing ``title`` is the raw id, so lists never show "nan".
    """
    if table is None:
        return None
    extra = pd.DataFrame(index=range(len(raw_ids)), columns=table.columns)
    if rows is not None:
        if len(rows) != len(raw_ids):
            raise ValueError(f"table_rows has {len(rows)} rows for {len(raw_ids)} new entries")
        for column in table.columns.intersection(rows.columns):
            extra[column] = rows[column].to_numpy()
    if "title" in extra.columns:
        extra["title"] = extra["title"].where(extra["title"].notna(), pd.Series(raw_ids, dtype=object))
    return pd.concat([table, extra], ignore_index=True) if raw_ids else table.copy()
