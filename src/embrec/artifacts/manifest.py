"""The JSON manifest of a model directory: everything but the weights."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import embrec

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """Model kind and configs, id maps, rating scale, metrics and provenance."""

    model_config: dict[str, Any]
    train_config: dict[str, Any] | None
    user_ids: list[str]
    item_ids: list[str]
    scale: tuple[float, float]
    weights_sha256: str
    info: dict[str, Any] = field(default_factory=dict)
    item_table: dict[str, Any] | None = None
    user_table: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    versions: dict[str, str] = field(default_factory=lambda: current_versions())
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, default=_json_default) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"manifest format {version!r} is not {FORMAT_VERSION}; re-train with this embrec")
        data["scale"] = tuple(data["scale"])
        return cls(**data)


def current_versions() -> dict[str, str]:
    return {"embrec": embrec.__version__, "torch": torch.__version__, "python": platform.python_version()}


def table_to_json(table: pd.DataFrame | None) -> dict[str, Any] | None:
    """A side table as ``{"columns": [...], "data": [[...], ...]}`` (dates as ISO strings)."""
    if table is None:
        return None
    loaded = json.loads(table.to_json(orient="split", index=False, date_format="iso"))
    return {"columns": loaded["columns"], "data": loaded["data"]}


def table_from_json(data: dict[str, Any] | None) -> pd.DataFrame | None:
    if data is None:
        return None
    return pd.DataFrame(data["data"], columns=data["columns"])


def _json_default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # numpy scalars
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to the manifest")
