"""
The three requirement files agree: requirements-lts.txt (the backend's tests
on Django 5.2 LTS) pins every package but Django to the version the app's
files pin, and Django to a 5.2 release; the app is on Django 6.1.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$", re.MULTILINE)


def pins(name):
    return {package.lower(): version for package, version in PIN.findall((ROOT / name).read_text())}


def test_the_lts_file_pins_what_the_app_pins_but_django():
    app = pins("requirements.txt") | pins("requirements-dev.txt")
    lts = pins("requirements-lts.txt")
    assert lts.pop("django").startswith("5.2.")
    assert {package: app.get(package) for package in lts} == lts


def test_the_app_is_on_django_6_1():
    assert pins("requirements.txt")["django"].startswith("6.1.")
