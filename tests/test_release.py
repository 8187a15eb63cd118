"""
Two releases sharing memcached each see only their own pages (tasks/release.py):
as during Heroku's preboot, and runserver beside gunicorn on the file cache.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from harness.services import Gunicorn
from harness.visitor import Visitor
from tasks.models import Task
from tasks.release import SOURCES, fingerprint
from tests.conftest import database_url

ROOT = Path(__file__).resolve().parent.parent
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


def copy_of_the_project(folder):
    for part in SOURCES:
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", folder)
    return folder


def test_the_fingerprint_changes_with_any_file_a_page_depends_on(tmp_path):
    project = copy_of_the_project(tmp_path)
    before = fingerprint(project)
    assert fingerprint(project) == before  # stable
    (project / "templates" / "tasks" / "index.html").write_text("changed")
    after_template = fingerprint(project)
    (project / "tasks" / "views.py").write_text("# changed\n", encoding="utf-8")
    after_code = fingerprint(project)
    assert len({before, after_template, after_code}) == 3


def test_debug_and_production_rendering_are_different_releases():
    # runserver (DEBUG, plain static names) and gunicorn (hashed names) share
    # the embedded file cache.
    production = fingerprint()
    storages = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(DEBUG=True, STORAGES=storages):
        assert fingerprint() != production


@pytest.fixture
def next_release(tmp_path, django_db_setup):
    """The project again, with one line of style.css changed, collected as the buildpack would."""
    project = copy_of_the_project(tmp_path / "next")
    with open(project / "tasks" / "static" / "tasks" / "style.css", "a") as css:
        css.write(".next-release { color: inherit; }\n")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=project, check=True)
    return project


@pytest.mark.django_db(transaction=True)
def test_two_releases_side_by_side_each_serve_their_own_pages(next_release):
    env = {"DATABASE_URL": database_url()}
    old, new = Gunicorn(env, workers=1).start(), Gunicorn(env, workers=1, root=next_release).start()
    try:
        Task.objects.create(name="shared")
        old_visitor, new_visitor = Visitor(old.url), Visitor(new.url)
        first = old_visitor.get()
        second = new_visitor.get()
        assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "MISS")
        old_css, new_css = STYLESHEET.search(first.text).group(1), STYLESHEET.search(second.text).group(1)
        assert old_css != new_css
        assert new_visitor.get(new_css).status == 200  # the old link would 404 on the new release
        # Each release's own page is cached, side by side.
        for visitor, css in ((old_visitor, old_css), (new_visitor, new_css)):
            page = visitor.get()
            assert page.headers["X-Cache"] == "HIT"
            assert STYLESHEET.search(page.text).group(1) == css
        # A write through either release shows in both: the list version is shared.
        assert new_visitor.post("/", {"name": "from the new release"}).status == 302
        for visitor in (old_visitor, new_visitor):
            page = visitor.get()
            assert page.headers["X-Cache"] == "MISS"
            assert "from the new release" in page.text
    finally:
        old.stop()
        new.stop()
