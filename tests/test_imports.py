"""The import rule of STYLE.md, checked by parsing the source (nothing is imported to check it).

``models`` imports nothing from embrec; ``data`` and the metric modules import nothing outside
themselves; nothing imports ``cli`` (it is the outer shell) or ``serving`` (only ``cli`` starts it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "embrec"
METRIC_MODULES = ("embrec.evaluation.rating_metrics", "embrec.evaluation.ranking_metrics")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def embrec_imports(path: Path) -> set[str]:
    """The embrec modules ``path`` imports (absolute or relative, at any depth of the file)."""
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """The embrec modules and packages that ``source``, the text of ``module``, imports."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative: drop a package level per dot beyond the first
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {m for m in found if m == "embrec" or m.startswith("embrec.")}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(sources: str, allowed: tuple[str, ...]) -> dict[str, set[str]]:
    """Modules under ``sources`` importing an embrec module outside ``allowed``."""
    found = {}
    for name, path in MODULES.items():
        if within(name, sources):
            bad = {m for m in embrec_imports(path) if not any(within(m, a) for a in allowed)}
            if bad:
                found[name] = bad
    return found


def test_the_parser_sees_absolute_relative_and_nested_imports() -> None:
    source = "\n".join(
        [
            "import embrec.cli.main",
            "from ..models import dot",
            "from . import ids",
            "def f():",
            "    from embrec import serving",
        ]
    )
    found = imports_of(source, "embrec.data.readers")
    assert {"embrec.cli.main", "embrec.models", "embrec.models.dot", "embrec.data.ids", "embrec.serving"} <= found
    assert "embrec.data.ratings" in embrec_imports(PACKAGE / "data" / "splits.py")
    assert embrec_imports(PACKAGE / "models" / "common.py") == set()


def test_models_import_nothing_from_embrec_but_models() -> None:
    assert violations("embrec.models", ("embrec.models",)) == {}


def test_data_imports_nothing_outside_data() -> None:
    assert violations("embrec.data", ("embrec.data",)) == {}


@pytest.mark.parametrize("module", METRIC_MODULES)
def test_metric_modules_import_nothing_from_embrec(module: str) -> None:
    assert embrec_imports(MODULES[module]) == set()


@pytest.mark.parametrize("shell", ["embrec.cli", "embrec.serving"])
def test_nothing_imports_the_outer_shells(shell: str) -> None:
    outside = {n: p for n, p in MODULES.items() if not (within(n, "embrec.cli") or within(n, shell))}
    outside.pop("embrec.__main__", None)  # `python -m embrec` runs the command line
    assert {n for n, p in outside.items() if any(within(m, shell) for m in embrec_imports(p))} == set()
