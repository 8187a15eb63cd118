"""
Django settings for the benchmark: the app's own settings, plus

- ROOT_URLCONF with /constant/<bytes>, the constant-view ceiling (bench/urls.py);
- BENCH_DUMMY_CACHE=1: every cache alias is a DummyCache, the "no caching"
  mode. CACHE_LAYERS=none alone is not quite that: writes still bump the
  list version and sessions still use memcached.
- BENCH_SERVER_TIMING=0: no Server-Timing middleware, to measure what it
  costs (bench/server_timing_cost.py).

Nothing else differs, so every mode runs the code that production runs.
"""

from config.settings import *  # noqa: F403
from config.settings import CACHES, MIDDLEWARE, env_flag

ROOT_URLCONF = "bench.urls"

if env_flag("BENCH_DUMMY_CACHE", False):
    CACHES = {alias: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"} for alias in CACHES}

if not env_flag("BENCH_SERVER_TIMING", True):
    MIDDLEWARE = [name for name in MIDDLEWARE if name != "config.server_timing.ServerTimingMiddleware"]
