"""The one error type for bad input data: it names the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Input data that cannot be used as given.

    ``path`` and ``line`` (1-based, counting a header line) locate the problem when known;
    ``problem`` says what is wrong and, where possible, how to fix it.
    """

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}, line {line}"
            where += ": "
        super().__init__(f"{where}{problem}")
