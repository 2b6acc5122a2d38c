"""Training checkpoints as a directory: ``checkpoint.safetensors`` + ``checkpoint.json``.

A checkpoint is fit's :class:`~embrec.training.loop.LoopState` after an epoch: model and
optimiser tensors, the batch-order and global generator states (safetensors, never pickled),
and the schedule, history and early-stopping state (JSON). The JSON records the SHA-256 of the
tensors file and a ``fingerprint`` of the run (training config, data shape), so a checkpoint
from another run, or a half-written one, is refused with the reason.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from embrec.data.files import sha256_file, temp_path
from embrec.training.loop import History, LoopState

TENSORS = "checkpoint.safetensors"
STATE = "checkpoint.json"
FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or belongs to another run."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")


def save_checkpoint(state: LoopState, directory: str | Path, fingerprint: dict[str, Any]) -> Path:
    """Write ``state`` to ``directory`` (created); the previous checkpoint is replaced atomically
    file by file, the JSON last, so a crash leaves the old JSON pointing at a checksum it refuses."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in state.model.items()}
    tensors |= {f"best.{k}": v for k, v in (state.best_model or {}).items()}
    tensors |= {"generator": state.generator, "rng": state.rng}
    optimizer_state: dict[str, dict[str, Any]] = {}
    for index, slots in state.optimizer["state"].items():
        for name, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value
            else:  # plain numbers (e.g. a float step on some optimisers)
                optimizer_state.setdefault(str(index), {})[name] = value
    tensors_tmp = temp_path(directory, TENSORS)
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tensors_tmp))
    document = {
        "format": FORMAT,
        "epoch": state.epoch,
        "fingerprint": fingerprint,
        "tensors_sha256": sha256_file(tensors_tmp),
        "optimizer": {"param_groups": state.optimizer["param_groups"], "state": optimizer_state},
        "schedule": state.schedule,
        "history": state.history.to_json(),
        "best_rmse": None if math.isinf(state.best_rmse) else state.best_rmse,
        "has_best_model": state.best_model is not None,
        "waited": state.waited,
    }
    state_tmp = temp_path(directory, STATE)
    state_tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(tensors_tmp, directory / TENSORS)
    os.replace(state_tmp, directory / STATE)
    return directory


def load_checkpoint(directory: str | Path, fingerprint: dict[str, Any]) -> LoopState:
    """Read the checkpoint in ``directory``; it must have been written for the same ``fingerprint``."""
    directory = Path(directory)
    document = _read_state(directory)
    if document.get("fingerprint") != json.loads(json.dumps(fingerprint)):
        raise CheckpointError(
            directory,
            "written by another run (training config or data differ): "
            f"saved {document.get('fingerprint')}, this run {fingerprint}",
        )
    path = directory / TENSORS
    if not path.is_file() or sha256_file(path) != document["tensors_sha256"]:
        raise CheckpointError(directory, f"{TENSORS} is missing or does not match {STATE} (interrupted write?)")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(directory, f"cannot read {TENSORS}: {exc}") from None
    return _state(document, tensors)


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / STATE).is_file()


def _state(document: dict[str, Any], tensors: dict[str, torch.Tensor]) -> LoopState:
    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    slots: dict[int, dict[str, Any]] = {}
    for key, value in part("optimizer.").items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    for index, numbers in document["optimizer"]["state"].items():
        slots.setdefault(int(index), {}).update(numbers)
    groups = document["optimizer"]["param_groups"]
    for group in groups:  # JSON has no tuples; Adam's betas are one
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    best_rmse = document["best_rmse"]
    return LoopState(
        epoch=int(document["epoch"]),
        model=part("model."),
        optimizer={"state": slots, "param_groups": groups},
        schedule=document["schedule"],
        generator=tensors["generator"],
        rng=tensors["rng"],
        history=History.from_json(document["history"]),
        best_rmse=math.inf if best_rmse is None else float(best_rmse),
        best_model=part("best.") if document["has_best_model"] else None,
        waited=int(document["waited"]),
    )


def _read_state(directory: Path) -> dict[str, Any]:
    path = directory / STATE
    if not path.is_file():
        raise CheckpointError(directory, f"no checkpoint here ({STATE} is missing)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise CheckpointError(directory, f"{STATE} is unreadable: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(directory, f"{STATE} is not an embrec checkpoint of format {FORMAT}")
    return document
