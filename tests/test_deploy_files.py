"""
The tree each Heroku generation builds passes its Python buildpack's checks
(docs/deploying.md). Cedar builds the tree as it is committed. Fir builds it
after the commands of docs/deploying.md's Fir block, which these tests run on
a git copy of the tree: the docs and the test can't drift apart.

The rules are the buildpacks' own, each mirrored from the file named beside
it: heroku/buildpacks-python (the Python CNB, v6.5.6),
heroku/heroku-buildpack-python (the classic buildpack, v351) and
heroku/buildpacks-procfile. The tree is what `git add -A` would commit: the
tracked files and the new ones .gitignore lets through, so a virtualenv that
the Makefile made in the work tree must stay ignored.
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "deploying.md"
# The comment in docs/deploying.md that marks the Fir block.
FIR_MARKER = "<!-- tests/test_deploy_files.py runs the next block on a copy of the tree. -->"
# What the Fir block may run: git commands that change files and commit them.
GIT_FILE_COMMANDS = {"rm", "mv", "add", "commit"}

# The Python versions both buildpacks build (3.10 deprecated):
# OLDEST/NEWEST_SUPPORTED_PYTHON_3_MINOR_VERSION in src/python_version.rs and
# lib/python_version.sh.
SUPPORTED_MINORS = range(10, 15)
# src/package_manager.rs (SUPPORTED_PACKAGE_MANAGERS): exactly one, in the root.
CNB_PACKAGE_FILES = ("requirements.txt", "poetry.lock", "uv.lock")
# lib/package_manager.sh: the same, with Pipenv's lockfile.
CLASSIC_PACKAGE_FILES = ("requirements.txt", "Pipfile.lock", "poetry.lock", "uv.lock")
# lib/python_version.sh: PYTHON_VERSION_REGEX (whole numbers, no leading zero).
INT = r"(?:0|[1-9][0-9]*)"
CLASSIC_VERSION = re.compile(rf"({INT})\.({INT})(?:\.{INT})?")
# SPEC.md of the Procfile CNB: a key it takes without correcting it.
PROCFILE_KEY = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class Tree:
    """The files a build gets: their paths, and a way to read one."""

    def __init__(self, paths, read):
        self.paths = set(paths)
        self.read = read

    def text(self, path):
        return self.read(path).decode()


def git(*args, cwd):
    # Only this copy's git: no hooks, signing or identity from the machine.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env |= {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True).stdout


def work_tree_paths():
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return sorted({path for path in listed.decode().split("\0") if path and (ROOT / path).is_file()})


def committed(repo):
    paths = git("ls-tree", "-r", "-z", "--name-only", "HEAD", cwd=repo).decode().split("\0")
    return Tree([path for path in paths if path], lambda path: git("show", f"HEAD:{path}", cwd=repo))


def fir_block():
    lines = DOCS.read_text().splitlines()
    start = lines.index(FIR_MARKER) + 1
    assert lines[start].startswith("```"), "the Fir marker must sit right above a fenced block"
    end = lines.index("```", start + 1)
    return [line for line in lines[start + 1 : end] if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def fir_tree(tmp_path_factory):
    repo = tmp_path_factory.mktemp("fir") / "app"
    for path in work_tree_paths():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, repo / path)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "the tree as Cedar builds it", cwd=repo)
    for line in fir_block():
        command = shlex.split(line)
        assert command[:1] == ["git"] and command[1] in GIT_FILE_COMMANDS, f"not a git file command: {line}"
        git(*command[1:], cwd=repo)
    return committed(repo)


def content_lines(text):
    # Each line trimmed, blank lines and # comments skipped: how both
    # buildpacks read a version file (src/python_version_file.rs,
    # lib/python_version.sh) and the Procfile CNB a Procfile (SPEC.md).
    return [line.strip() for line in text.split("\n") if line.strip() and not line.strip().startswith("#")]


def check_cnb_python_version(tree):
    # src/python_version.rs: a runtime.txt stops the build, even beside a
    # valid .python-version.
    assert "runtime.txt" not in tree.paths
    # src/python_version_file.rs: one version, X.Y or X.Y.Z, each a u16.
    versions = content_lines(tree.text(".python-version"))
    assert len(versions) == 1, versions
    parts = versions[0].split(".")
    assert len(parts) in (2, 3) and all(re.fullmatch(r"[0-9]+", part) and int(part) < 2**16 for part in parts)
    assert int(parts[0]) == 3 and int(parts[1]) in SUPPORTED_MINORS, versions[0]


def check_classic_python_version(tree):
    # lib/python_version.sh: runtime.txt (python-X.Y) wins over .python-version.
    if "runtime.txt" in tree.paths:
        lines = content_lines(tree.text("runtime.txt"))
        pattern = re.compile(rf"python-{CLASSIC_VERSION.pattern}")
    else:
        lines = content_lines(tree.text(".python-version"))
        pattern = CLASSIC_VERSION
    assert len(lines) == 1 and pattern.fullmatch(lines[0]), lines
    line = lines[0]
    major, minor = (int(number) for number in re.findall(r"[0-9]+", line)[:2])
    assert major == 3 and minor in SUPPORTED_MINORS, line


def check_no_virtualenv(tree):
    # lib/checks.sh stops a Cedar build on a .venv/ or venv/ holding a
    # pyvenv.cfg; the CNB doesn't look (src/detect.rs), but a virtualenv made
    # on another machine is of no use in its image either.
    assert not [path for path in tree.paths if path.split("/")[0] in (".venv", "venv")]


def test_cedar_builds_the_committed_tree():
    tree = Tree(work_tree_paths(), lambda path: (ROOT / path).read_bytes())
    check_classic_python_version(tree)
    assert [name for name in CLASSIC_PACKAGE_FILES if name in tree.paths] == ["requirements.txt"]
    # lib/package_manager.sh: a Pipfile without its lockfile stops the build.
    assert "Pipfile" not in tree.paths
    check_no_virtualenv(tree)


def test_the_fir_block_only_removes_runtime_txt(fir_tree):
    before = set(work_tree_paths())
    assert before - fir_tree.paths == {"runtime.txt"}
    assert fir_tree.paths - before == set()


def test_fir_builds_the_tree_the_docs_leave(fir_tree):
    check_cnb_python_version(fir_tree)
    assert [name for name in CNB_PACKAGE_FILES if name in fir_tree.paths] == ["requirements.txt"]
    check_no_virtualenv(fir_tree)
    # The Procfile CNB takes each entry as a process type of the image.
    keys = [line.split(":", 1)[0] for line in content_lines(fir_tree.text("Procfile"))]
    assert keys and all(PROCFILE_KEY.fullmatch(key) for key in keys), keys


def test_the_fir_tree_still_builds_on_cedar(fir_tree):
    # Without runtime.txt the classic buildpack reads .python-version.
    check_classic_python_version(fir_tree)
