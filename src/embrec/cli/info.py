"""``embrec info``: what a model directory holds, from its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from embrec.artifacts.model_dir import read_manifest
from embrec.cli.common import JsonOpt, console, friendly_errors, print_json


@friendly_errors
def info(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    json_out: JsonOpt = False,
) -> None:
    """Model kind, configuration, data, metrics and versions of a saved model."""
    manifest = read_manifest(model_dir)
    summary = {
        "model": manifest.model_config,
        "training": manifest.train_config,
        "users": len(manifest.user_ids),
        "items": len(manifest.item_ids),
        "scale": manifest.scale,
        "data": manifest.info.get("data"),
        "split": manifest.info.get("split"),
        "data_fingerprint": manifest.info.get("data_fingerprint"),
        "metrics": manifest.info.get("metrics"),
        "versions": manifest.versions,
        "created": manifest.created,
    }
    if json_out:
        print_json(summary)
        return
    table = Table(title=str(model_dir), show_header=False)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={_short(v)}" for k, v in value.items())
        table.add_row(key, str(value))
    console.print(table)


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
