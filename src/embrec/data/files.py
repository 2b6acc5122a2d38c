"""File helpers shared by everything that writes or verifies files: content digests and
temporary names for atomic writes (write beside the target, then rename over it)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temp_path(directory: Path, name: str) -> Path:
    """A new, empty hidden file in ``directory`` (same file system as the target, so a rename
    over the target is atomic)."""
    handle, path = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    os.close(handle)
    return Path(path)
