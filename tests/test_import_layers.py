"""
Every import arrow points down: the project (config/) uses the app (tasks/)
and the backend (memcachier_cache/) only by the dotted paths its settings
name; the app uses the backend's public interface; the backend uses
neither. tests/ and bench/ share harness/ and never import each other.

Read from the source with ast, so a lazy import inside a function counts too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = ["config", "tasks", "memcachier_cache", "harness", "tests", "bench"]
# package -> the packages it must never import
FORBIDDEN = {
    "config": {"tasks", "memcachier_cache", "harness", "tests", "bench"},
    "tasks": {"config", "harness", "tests", "bench"},
    "memcachier_cache": {"config", "tasks", "harness", "tests", "bench"},
    "harness": {"tests", "bench"},
    "tests": {"bench"},
    "bench": {"tests"},
}
# The backend's public interface: what the app may import from it.
PUBLIC = {"memcachier_cache"}


def imports(path):
    """(module imported, line) for every import statement of a file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno


def sources(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        # The backend's own tests run it the way a project would.
        if package == "memcachier_cache" and "tests" in path.relative_to(ROOT / package).parts:
            continue
        yield path


@pytest.mark.parametrize("package", FORBIDDEN)
def test_no_import_points_up_or_sideways(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources(package)
        for module, line in imports(path)
        if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert wrong == []


def test_the_app_uses_only_the_backends_public_interface():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources("tasks")
        for module, line in imports(path)
        if module.split(".")[0] == "memcachier_cache" and module not in PUBLIC
    ]
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def f():\n    from tasks.keys import TAG\n")
    assert list(imports(wrong)) == [("tasks.keys", 2)]
