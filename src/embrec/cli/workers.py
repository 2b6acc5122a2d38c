"""``embrec train --workers N``: the options of distributed training and the launcher."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embrec.cli.common import errors
from embrec.training.distributed import DEFAULT_TIMEOUT_S, Checkpoints, in_worker, launch

WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        help="Train in N processes with PyTorch DDP (torchrun --standalone on this machine; "
        "for several machines run torchrun -m embrec train yourself, see docs/scaling.md).",
    ),
]
CheckpointOpt = Annotated[
    Path | None, typer.Option("--checkpoint", help="Directory for training checkpoints (model, optimiser, RNG).")
]
CheckpointEveryOpt = Annotated[int, typer.Option("--checkpoint-every", help="Write a checkpoint every N epochs.")]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue from the checkpoint in --checkpoint (from epoch 1 if none yet).")
]
WorkerTimeoutOpt = Annotated[
    float, typer.Option("--worker-timeout", help="Seconds a process waits for a silent peer before failing.")
]
DEFAULT_WORKER_TIMEOUT = DEFAULT_TIMEOUT_S


def checkpoints(directory: Path | None, every: int, resume: bool) -> Checkpoints | None:
    if directory is None:
        if resume:
            raise typer.BadParameter("--resume needs --checkpoint DIR (the directory to resume from)")
        return None
    return Checkpoints(directory, every, resume)


def launches(workers: int) -> bool:
    """Whether this call should start ``workers`` processes (not when it already is one of them)."""
    if workers < 1:
        raise typer.BadParameter("--workers must be at least 1")
    return workers > 1 and not in_worker()


def relaunch(ctx: typer.Context, workers: int) -> None:
    """Run this very command in ``workers`` processes under torchrun; exits with their status."""
    code = launch(workers, [ctx.info_name or "train", *command_line(ctx)])
    if code != 0:
        errors.print(
            f"[bold red]error:[/] distributed training failed: torchrun exited with status {code} "
            "(a worker died or raised: torchrun's \"Root Cause\" above names the process that failed first)",
            highlight=False,
        )
        raise typer.Exit(1)
    raise typer.Exit(0)


def command_line(ctx: typer.Context) -> list[str]:
    """The options of ``ctx`` written back as arguments (defaults included, so every process
    sees the same values)."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.param_type_name != "option" or value is None:
            continue
        if getattr(param, "is_flag", False):
            args += (param.opts if value else param.secondary_opts)[:1]
        else:
            args += [param.opts[0], str(value)]
    return args
