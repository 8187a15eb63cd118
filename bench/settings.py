"""
Django settings for the benchmark: the app's own settings, plus

- ROOT_URLCONF with /constant/<bytes>, the constant-view ceiling (bench/urls.py);
- BENCH_DUMMY_CACHE=1: every cache alias is a DummyCache, the "no caching"
  mode. CACHE_LAYERS=none alone is not quite that: writes still bump the
  list version and sessions still use memcached.

Nothing else differs, so every mode runs the code that production runs.
"""

from config.settings import *  # noqa: F403
from config.settings import CACHES, env_flag

ROOT_URLCONF = "bench.urls"

if env_flag("BENCH_DUMMY_CACHE", False):
    CACHES = {alias: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"} for alias in CACHES}
