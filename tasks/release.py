"""
Which release is running: a fingerprint of everything that shapes a page.

Two releases share the database and memcached while Heroku's preboot runs
them side by side, and after a deploy until the entries expire; runserver
and gunicorn share the embedded file cache. A page or fragment rendered by
one must never be served by the other: its stylesheet link would 404, and a
template fix, a security fix included, would wait for the TTL. So whatever
is derived from the task list is keyed on this fingerprint
(tasks/keys.py). The list version itself, which only says "the tasks
changed", stays shared: a write made through either release shows in both.

The fingerprint is computed once, at start (gunicorn preloads the app, so
once per deploy): the app's code, templates and static sources, the static
manifest when hashed file names are on, and the settings that change what
a template renders.
"""

import hashlib
from pathlib import Path

import django
from django.conf import settings

# The folders whose files decide what the app renders and how.
SOURCES = ("config", "tasks", "memcachier_cache", "templates")
# The settings that change a rendered page with the same files.
RENDER_SETTINGS = ("DEBUG", "STATIC_URL", "FORCE_SCRIPT_NAME", "LANGUAGE_CODE", "USE_I18N", "USE_TZ", "TIME_ZONE")


def fingerprint(base_dir=None):
    """12 hex digits that change with any file or setting a page depends on."""
    base_dir = Path(base_dir or settings.BASE_DIR)
    digest = hashlib.sha256()
    digest.update(f"Django {django.__version__}\n".encode())
    for name in RENDER_SETTINGS:
        digest.update(f"{name}={getattr(settings, name)!r}\n".encode())
    storage = settings.STORAGES["staticfiles"]["BACKEND"]
    digest.update(f"staticfiles={storage}\n".encode())
    for path in sorted(_files(base_dir)):
        digest.update(f"{path.relative_to(base_dir)}\n".encode())
        digest.update(path.read_bytes())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if "Manifest" in storage and manifest.exists():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:12]


def _files(base_dir):
    for folder in SOURCES:
        for path in (base_dir / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path
