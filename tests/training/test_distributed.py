"""Distributed training: 2 processes train the model 1 process trains (same global batch and
seed), a checkpoint resumes to the uninterrupted result, a killed worker fails the run within a
bounded time, and ``embrec train --workers 2`` writes a loadable model directory.

Tolerance of the 2-process check: ``atol=1e-5`` on every weight. The processes sum the same
gradient terms in another order (each its share, then the all-reduce), so equality is only up
to float32 rounding, which Adam's normalised steps carry on at about the size of the rounding.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from embrec.artifacts.model_dir import load
from embrec.data.ratings import Ratings
from embrec.training.checkpoint import CheckpointError, load_checkpoint
from embrec.training.config import TrainConfig
from embrec.training.distributed import Checkpoints, fingerprint, fit_hooks, process_group
from embrec.training.loop import FitHooks, LoopState, train_model
from tiny_ratings import TINY_MODEL, checkerboard

# 160 ratings in batches of 27: the last is 25, so the two shares differ by one (14/13, 13/12)
CONFIG = TrainConfig(epochs=6, lr=0.05, batch_size=27, weight_decay=0.01, seed=3, threads=1)
ATOL = 1e-5


def data_and_weights() -> tuple[Ratings, np.ndarray]:
    data = checkerboard()[0]
    weights = np.linspace(0.5, 2.0, len(data)).astype(np.float32)  # uneven per-rating weights
    return data, weights


# plain; per-rating weights; sparse table gradients (DDP exchanges the rows used, lazy Adam)
VARIANTS = {"plain": (False, CONFIG), "weighted": (True, CONFIG), "sparse": (False, replace(CONFIG, sparse=True))}


def one_process(variant: str) -> dict[str, torch.Tensor]:
    data, weights = data_and_weights()
    weighted, config = VARIANTS[variant]
    model, _, _ = train_model(data, TINY_MODEL, config, weights=weights if weighted else None)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank), "WORLD_SIZE": str(world)}
    data, weights = data_and_weights()
    with process_group(timeout_s=120) as process:  # generous: a busy machine can stall a rank
        hooks = fit_hooks(process, None, dict)
        for variant, (weighted, config) in VARIANTS.items():
            model, _, _ = train_model(data, TINY_MODEL, config, weights=weights if weighted else None, hooks=hooks)
            if rank == 0:
                save_file(model.state_dict(), f"{out}/{variant}.safetensors")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_processes_train_the_weights_of_one_with_the_same_global_batch_and_seed(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    for variant in VARIANTS:
        together = load_file(str(tmp_path / f"{variant}.safetensors"))
        alone = one_process(variant)
        assert together.keys() == alone.keys()
        for name, tensor in alone.items():
            assert not torch.equal(tensor, torch.zeros_like(tensor)), name
            torch.testing.assert_close(together[name], tensor, atol=ATOL, rtol=0, msg=f"{name} ({variant})")


def test_resuming_from_a_checkpoint_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    data, _ = data_and_weights()
    config = replace(CONFIG, epochs=5, patience=3, valid_fraction=0.2)  # early-stopping state travels too
    marks = fingerprint(data, TINY_MODEL, config)
    whole = tmp_path / "whole"
    uninterrupted, _, history = train_model(
        data, TINY_MODEL, config, hooks=fit_hooks(None, Checkpoints(whole, every=2), lambda: marks)
    )
    assert load_checkpoint(whole, marks).epoch == 5  # every 2 epochs and after the last
    # the same run stopped after 2 epochs (its checkpoint is the one written at epoch 2), then resumed
    stopped = tmp_path / "stopped"
    with pytest.raises(Interrupted):
        train_model(data, TINY_MODEL, config, hooks=interrupted_after(2, stopped, marks))
    resumed, _, resumed_history = train_model(
        data, TINY_MODEL, config, hooks=fit_hooks(None, Checkpoints(stopped, resume=True), lambda: marks)
    )
    for name, tensor in uninterrupted.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name
    assert [e.epoch for e in resumed_history.epochs] == [1, 2, 3, 4, 5]
    assert resumed_history.best_epoch == history.best_epoch


class Interrupted(Exception):
    """Stands for a crash right after a checkpoint."""


def interrupted_after(epochs: int, directory: Path, marks: dict[str, Any]) -> FitHooks:
    """Hooks that write a checkpoint after ``epochs`` epochs and then stop training."""
    hooks = fit_hooks(None, Checkpoints(directory, every=epochs), lambda: marks)
    assert hooks is not None and hooks.checkpoint is not None
    write = hooks.checkpoint

    def checkpoint_then_stop(state: LoopState) -> None:
        write(state)
        if state.epoch == epochs:
            raise Interrupted

    return replace(hooks, checkpoint=checkpoint_then_stop)


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    data, _ = data_and_weights()
    marks = fingerprint(data, TINY_MODEL, CONFIG)
    train_model(data, TINY_MODEL, CONFIG, hooks=fit_hooks(None, Checkpoints(tmp_path), lambda: marks))
    other = fingerprint(data, TINY_MODEL, replace(CONFIG, lr=0.01))
    with pytest.raises(CheckpointError, match="another run"):
        fit_hooks(None, Checkpoints(tmp_path, resume=True), lambda: other)
    with pytest.raises(FileExistsError, match="--resume"):
        fit_hooks(None, Checkpoints(tmp_path), lambda: marks)


def embrec(*args: str) -> list[str]:
    return [sys.executable, "-m", "embrec", "train", "--factors", "8", "--quiet", "--batch-size", "512", *args]


def test_train_with_two_workers_writes_a_loadable_model_directory(tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = subprocess.run(
        embrec("--workers", "2", "--epochs", "2", "--out", str(out)), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    recommender = load(out)
    assert len(recommender.info["history"]["epochs"]) == 2
    assert np.isfinite(recommender.info["metrics"]["rmse"])


def test_a_killed_worker_fails_the_run_with_a_clear_error_within_a_minute(tmp_path: Path) -> None:
    out, checkpoints = tmp_path / "model", tmp_path / "checkpoints"
    args = embrec("--workers", "2", "--epochs", "200", "--out", str(out), "--checkpoint", str(checkpoints))
    launcher = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (checkpoints / "checkpoint.json").exists():  # training is under way
            assert launcher.poll() is None and time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        os.kill(_worker_pid(str(out), rank=1), signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = launcher.communicate(timeout=60)
        assert time.monotonic() - killed < 60
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    assert "distributed training failed" in stderr
    assert not out.exists()


def _worker_pid(marker: str, rank: int) -> int:
    """The process of ``rank`` among those whose command line holds ``marker`` (Linux /proc)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if marker.encode() in cmdline and f"RANK={rank}".encode() in environ:
            return int(proc.name)
    raise AssertionError(f"no worker of rank {rank} found")
