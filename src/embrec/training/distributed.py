"""Data-parallel training: PyTorch DistributedDataParallel over the one training loop.

Every process holds all training ratings and draws the same seeded permutation; process ``r``
of ``w`` takes ``batch[r::w]`` of each global batch, and DDP all-reduces the (dense) embedding
gradients after every backward. Each process scales its loss by ``w * len(share) / len(batch)``
(see :func:`embrec.training.loop.fit`), so the averaged gradient is the one-process gradient of
the same global batch: ``w`` processes give one process's weights up to the order of float sums.
The forward pass goes through DDP; the per-example penalty uses the same parameters and so
reaches the gradients DDP reduces. Rank 0 writes checkpoints and the model directory.

Processes are started by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...)
or by :func:`launch`, which runs ``torchrun --standalone`` on a free port. The loop is CPU-only,
so the backend is gloo; a collective waits at most ``timeout_s`` for a silent peer, and
torchrun stops the whole run when any process dies.
"""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from embrec.data.ratings import Ratings
from embrec.models import ModelConfig
from embrec.training.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from embrec.training.config import TrainConfig
from embrec.training.loop import FitHooks, LoopState

DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Process:
    """This process's place in a distributed run."""

    rank: int
    world: int


@dataclass(frozen=True)
class Checkpoints:
    """Write a checkpoint to ``directory`` every ``every`` epochs (and after the last);
    with ``resume``, start from the one already there, if any (so a run restarted by
    ``torchrun --max-restarts`` with the same arguments carries on)."""

    directory: Path
    every: int = 1
    resume: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("checkpoints are written every N >= 1 epochs")


def in_worker() -> bool:
    """Whether this process was started by torchrun (or another launcher setting ``WORLD_SIZE``)."""
    return "WORLD_SIZE" in os.environ


@contextmanager
def process_group(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Process | None]:
    """Join the process group torchrun describes in the environment, left on exit; ``None``
    outside torchrun (or with one process). ``timeout_s`` bounds every collective, so a peer
    that stops answering ends the run with an error instead of a hang."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield None
        return
    dist.init_process_group("gloo", timeout=timedelta(seconds=timeout_s))
    try:
        yield Process(rank=dist.get_rank(), world=dist.get_world_size())
    finally:
        # DDP wrappers sit in reference cycles that hold the group; left to interpreter
        # teardown, gloo's threads are destroyed still joinable and the process aborts
        # (SIGABRT after a successful run), so collect them while the group is alive
        gc.collect()
        dist.destroy_process_group()


def fit_hooks(
    process: Process | None,
    checkpoints: Checkpoints | None,
    run: Callable[[], dict[str, Any]],
) -> FitHooks | None:
    """The loop's hooks for this process: DDP and batch shares when distributed, checkpoints
    written by rank 0, and the saved state when resuming (every rank reads the same directory,
    so several machines need it on a shared file system). ``run`` gives the run's
    :func:`fingerprint`, computed only for checkpoints."""
    if process is None and checkpoints is None:
        return None
    rank, world = (process.rank, process.world) if process is not None else (0, 1)
    hooks = FitHooks(rank=rank, world=world, wrap=_ddp if process is not None else None)
    if checkpoints is None:
        return hooks
    marks, resume = run(), None
    if checkpoints.resume and has_checkpoint(checkpoints.directory):
        resume = load_checkpoint(checkpoints.directory, marks)
    elif has_checkpoint(checkpoints.directory):
        raise FileExistsError(
            f"{checkpoints.directory} already holds a checkpoint: pass --resume to continue it, or another directory"
        )
    return replace(hooks, resume=resume, checkpoint=checkpoint_writer(checkpoints, marks, rank))


def checkpoint_writer(checkpoints: Checkpoints, fingerprint: dict[str, Any], rank: int) -> Callable[[LoopState], None]:
    """Rank 0 saves every ``checkpoints.every`` epochs and when training ends early or at its last epoch."""
    epochs = int(fingerprint["train_config"]["epochs"])

    def write(state: LoopState) -> None:
        due = state.epoch % checkpoints.every == 0 or state.epoch == epochs or state.history.stopped_early
        if rank == 0 and due:
            save_checkpoint(state, checkpoints.directory, fingerprint)

    return write


def fingerprint(train: Ratings, model_config: ModelConfig, config: TrainConfig) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: configs and a digest of the training ratings.
    Thread and process counts are left out: a run may resume on another number of processes."""
    digest = hashlib.sha256()
    for column in (train.users, train.items, train.ratings):
        digest.update(column.tobytes())
    return {
        "model_config": model_config.to_json(),
        "train_config": {k: v for k, v in config.to_json().items() if k != "threads"},
        "ratings": len(train),
        "shape": [train.n_users, train.n_items],
        "ratings_sha256": digest.hexdigest(),
    }


def launch(workers: int, args: Sequence[str]) -> int:
    """Run ``python -m embrec ARGS`` in ``workers`` processes under ``torchrun --standalone``
    (a rendezvous on a free local port) and return its exit status: 0 only when every process
    finished. torchrun checks its workers every second and stops all of them when one fails."""
    if workers < 1:
        raise ValueError("workers must be positive")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={workers}",
        "--max-restarts=0", "--monitor-interval=1", "-m", "embrec", *args,
    ]  # fmt: skip
    return subprocess.run(command, check=False).returncode


def _ddp(model: nn.Module) -> nn.Module:
    # CPU tensors: no device_ids; buckets as views of the gradients save one copy of them
    return DistributedDataParallel(model, gradient_as_bucket_view=True)
