"""Save and load a Recommender as a directory: ``weights.safetensors`` + ``manifest.json``.

Loading never unpickles: weights are raw tensors (safetensors), everything else is JSON. The
manifest records the SHA-256 of the weights file, so a corrupt or swapped file is refused.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from scipy import sparse

from embrec.artifacts.manifest import Manifest, table_from_json, table_to_json
from embrec.data.files import temp_path
from embrec.data.ids import IdMap
from embrec.models import ModelConfig, build_model
from embrec.recommend.approximate import IndexFile, Retrieval
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig

WEIGHTS = "weights.safetensors"
MANIFEST = "manifest.json"
_EXTRA = "__embrec__."  # prefix of the non-model tensors stored beside the weights


class ModelDirError(ValueError):
    """A model directory that is missing, corrupt or does not match its manifest."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")


def save(recommender: Recommender, directory: str | Path) -> Path:
    """Write the recommender to ``directory`` (created; existing model files replaced atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().contiguous().clone() for name, t in recommender.model.state_dict().items()}
    seen = recommender.seen.tocsr()
    tensors[_EXTRA + "seen_indptr"] = torch.from_numpy(seen.indptr.astype(np.int64))
    tensors[_EXTRA + "seen_indices"] = torch.from_numpy(seen.indices.astype(np.int64))
    tensors[_EXTRA + "item_popularity"] = torch.from_numpy(recommender.item_popularity.astype(np.int64))
    weights_tmp = temp_path(directory, WEIGHTS)
    save_file(tensors, str(weights_tmp))
    manifest = Manifest(
        model_config=recommender.model_config.to_json(),
        train_config=recommender.train_config.to_json() if recommender.train_config else None,
        user_ids=list(recommender.user_ids.ids),
        item_ids=list(recommender.item_ids.ids),
        scale=recommender.scale,
        weights_sha256=_sha256(weights_tmp),
        info=recommender.info,
        item_table=table_to_json(recommender.item_table),
        user_table=table_to_json(recommender.user_table),
    )
    manifest_tmp = temp_path(directory, MANIFEST)
    manifest.write(manifest_tmp)
    os.replace(weights_tmp, directory / WEIGHTS)
    os.replace(manifest_tmp, directory / MANIFEST)
    return directory


def load(directory: str | Path) -> Recommender:
    """Read a model directory written by :func:`save`; identical predictions to the saved one."""
    directory = Path(directory)
    manifest = _read_manifest(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise ModelDirError(directory, f"{WEIGHTS} is missing")
    if _sha256(weights) != manifest.weights_sha256:
        raise ModelDirError(directory, f"{WEIGHTS} does not match the manifest (corrupt or from another model)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ModelDirError(directory, f"cannot read {WEIGHTS}: {exc}") from None
    extra = {k[len(_EXTRA) :]: tensors.pop(k) for k in list(tensors) if k.startswith(_EXTRA)}
    try:  # the manifest parsed as JSON; its contents can still be wrong
        user_ids, item_ids = IdMap(tuple(manifest.user_ids), "user"), IdMap(tuple(manifest.item_ids), "item")
        model_config = ModelConfig.from_json(manifest.model_config)
        train_config = TrainConfig.from_json(manifest.train_config) if manifest.train_config else None
        model = build_model(len(user_ids), len(item_ids), model_config)
    except (ValueError, TypeError) as exc:
        raise ModelDirError(directory, f"{MANIFEST} describes no valid model: {exc}") from None
    try:
        model.load_state_dict(tensors, strict=True)
        indices, indptr = extra["seen_indices"].numpy(), extra["seen_indptr"].numpy()
        seen = sparse.csr_matrix(
            (np.ones(len(indices), dtype=bool), indices, indptr), shape=(len(user_ids), len(item_ids))
        )
        popularity = extra["item_popularity"].numpy()
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelDirError(directory, f"weights do not fit a {model_config.kind!r} model: {exc}") from None
    model.eval()
    recommender = Recommender(
        model=model,
        model_config=model_config,
        user_ids=user_ids,
        item_ids=item_ids,
        seen=seen,
        item_popularity=popularity,
        scale=manifest.scale,
        train_config=train_config,
        item_table=table_from_json(manifest.item_table),
        user_table=table_from_json(manifest.user_table),
        info=manifest.info,
    )
    # an approximate index saved beside these weights is used when current (see embrec.recommend.approximate)
    recommender.retrieval = Retrieval(index_file=IndexFile(directory, manifest.weights_sha256))
    return recommender


def read_manifest(directory: str | Path) -> Manifest:
    """Only the manifest (for ``embrec info``): cheap, no weights read."""
    return _read_manifest(Path(directory))


def _read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelDirError(directory, "not a model directory (no such folder)")
    if not path.is_file():
        raise ModelDirError(directory, f"{MANIFEST} is missing: not an embrec model directory")
    try:
        return Manifest.read(path)
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelDirError(directory, f"{MANIFEST} is invalid: {exc}") from None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
