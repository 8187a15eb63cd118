"""
The peers of `make bench`: the app's page hit beside two other sites serving
the same tasks from the same PostgreSQL and memcached.

- guide_flask/: MemCachier's Flask guide in its final state, its own code;
- cache_page_site/: a minimal Django site with @cache_page and
  PyMemcacheCache, as Django's docs show;
- phase.py: the measurement, alternating rounds (bench/run.py calls it);
- report.py: its section of results.md.

The two sites run from .venv-peers (requirements.txt here), which the
Makefile builds for `make bench`: nothing of theirs is imported here.
"""
