"""A model registry: a folder of versioned model directories and a JSON state file.

Layout::

    REGISTRY/
      state.json          which version is active, which is the candidate and its share, the log
      v1/                 model directories as written by ``embrec.artifacts.save``
      v2/

The state names an ``active`` version (served to everyone), optionally a ``candidate`` served
to a ``share`` of users (see :func:`embrec.serving.rollout.serves_candidate`), and keeps a log
of every step with who took it and when. The state file is replaced atomically (written to a
temporary file, flushed to disk, renamed), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from embrec.artifacts.model_dir import MANIFEST, read_manifest

STATE = "state.json"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RegistryError(ValueError):
    """A registry operation that does not apply to the current state."""


@dataclass(frozen=True)
class LogEntry:
    """One rollout step: ``action`` (propose, approve, promote, rollback), on what, by whom, when."""

    action: str
    version: str
    share: float
    who: str
    when: str
    previous: str | None = None


@dataclass(frozen=True)
class RegistryState:
    """Active version, optional candidate with the share of users it serves, and the log."""

    active: str | None = None
    candidate: str | None = None
    share: float = 0.0
    log: tuple[LogEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RegistryState:
        log = tuple(LogEntry(**entry) for entry in data.get("log", []))
        return cls(data.get("active"), data.get("candidate"), float(data.get("share", 0.0)), log)

    def logged(self, action: str, version: str, share: float, who: str, previous: str | None = None) -> RegistryState:
        """This state (already changed) with the step appended to its log."""
        when = datetime.now(UTC).isoformat(timespec="seconds")
        entry = LogEntry(action, version, share, who, when, previous)
        return replace(self, log=(*self.log, entry))


@dataclass
class ModelRegistry:
    """Versions under ``root``; the state in ``root/state.json`` (in memory when ``root`` is a model dir).

    A plain model directory opens as a registry of one version named after the folder, with
    no state file: it can be served, not rolled out.
    """

    root: Path
    single: bool = False
    _memory_state: RegistryState = field(default_factory=RegistryState)

    @classmethod
    def open(cls, path: str | Path) -> ModelRegistry:
        """A registry folder (created if missing) or a single model directory."""
        root = Path(path)
        if (root / MANIFEST).is_file():
            return cls(root, single=True, _memory_state=RegistryState(active=root.name))
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def state_path(self) -> Path | None:
        return None if self.single else self.root / STATE

    def versions(self) -> list[str]:
        """Version names, oldest first (by creation of their manifest)."""
        if self.single:
            return [self.root.name]
        found = [p for p in self.root.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]
        return [p.name for p in sorted(found, key=lambda p: (read_manifest(p).created, p.name))]

    def path(self, version: str) -> Path:
        if self.single:
            if version != self.root.name:
                raise RegistryError(f"unknown version {version!r}; this is the single model {self.root.name!r}")
            return self.root
        if not _VERSION.match(version) or not (self.root / version / MANIFEST).is_file():
            raise RegistryError(f"unknown version {version!r}; known: {', '.join(self.versions()) or 'none'}")
        return self.root / version

    def state(self) -> RegistryState:
        """The current state; with no state file, the newest version is active."""
        if self.state_path is None:
            return self._memory_state
        if not self.state_path.is_file():
            versions = self.versions()
            return RegistryState(active=versions[-1] if versions else None)
        return RegistryState.from_json(json.loads(self.state_path.read_text(encoding="utf-8")))

    def state_stamp(self) -> tuple[int, int, int]:
        """(mtime, inode, size) of the state file, zeros when none: cheap change detection.

        Every write replaces the file by a new one, so the inode changes even when two writes
        fall within the file system's clock resolution.
        """
        try:
            if self.state_path is None:
                return (0, 0, 0)
            info = self.state_path.stat()
        except FileNotFoundError:
            return (0, 0, 0)
        return (info.st_mtime_ns, info.st_ino, info.st_size)

    def write_state(self, state: RegistryState) -> RegistryState:
        if self.state_path is None:
            self._memory_state = state
            return state
        _write_atomic(self.state_path, json.dumps(state.to_json(), indent=1) + "\n")
        return state

    def add(self, model_dir: str | Path, version: str | None = None) -> str:
        """Copy a model directory into the registry as a new version; returns its name.

        Adding never changes what is served, except that the first version of a registry
        without a state file becomes the active one.
        """
        if self.single:
            raise RegistryError("a single model directory is not a registry; serve a registry folder")
        read_manifest(model_dir)  # refuse anything that is not a model directory
        version = version or _next_version(self.versions())
        if not _VERSION.match(version):
            raise RegistryError(f"version names are letters, digits, '.', '_' or '-', not {version!r}")
        target = self.root / version
        if target.exists():
            raise RegistryError(f"version {version!r} already exists")
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.root))
        shutil.copytree(model_dir, staging, dirs_exist_ok=True)
        os.replace(staging, target)
        if self.state_path is not None and not self.state_path.is_file():
            self.write_state(RegistryState(active=version))  # the first version added is served
        return version


def _next_version(existing: list[str]) -> str:
    numbers = [int(v[1:]) for v in existing if re.fullmatch(r"v\d+", v)]
    return f"v{max(numbers, default=0) + 1}"


def _write_atomic(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
