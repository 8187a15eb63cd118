"""
The Python the app is built on: `.python-version` names a minor version only,
as Heroku's buildpacks ask, so each build gets that version's latest
security release; `runtime.txt` (kept by design: deprecated on Cedar, refused
on Fir, docs/deploying.md) names the same one; and the tests run on it
whenever this machine has it (Makefile). What each buildpack accepts:
tests/test_deploy_files.py.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINOR = (ROOT / ".python-version").read_text().strip()


def machine_has(minor):
    if shutil.which(f"python{minor}"):
        return True
    if not shutil.which("pyenv"):
        return False
    versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    return any(version == minor or version.startswith(f"{minor}.") for version in versions)


def test_python_version_names_a_minor_version_only():
    assert re.fullmatch(r"3\.\d+", MINOR), MINOR


def test_runtime_txt_names_the_same_minor_version():
    assert (ROOT / "runtime.txt").read_text().strip() == f"python-{MINOR}"


def test_the_tests_run_on_that_python_when_this_machine_has_it():
    if not machine_has(MINOR):
        pytest.skip(f"this machine has no Python {MINOR}; make test said so and used python3")
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == MINOR
