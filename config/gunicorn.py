"""
gunicorn settings, used by the Procfile, `make serve`, the tests and the benchmark.

Each knob says why, as heroku/python-getting-started's gunicorn.conf.py
does. On Cedar the classic Python buildpack also sets FORWARDED_ALLOW_IPS='*'
and, unless already set, GUNICORN_CMD_ARGS='--access-logfile -' (Fir's sets
neither: docs/deploying.md); command-line arguments (and GUNICORN_CMD_ARGS)
win over this file. The fault tests use
that to run under both worker models: `GUNICORN_CMD_ARGS='--worker-class sync
--threads 1'` (with threads > 1, gunicorn runs gthread even when told sync).
"""

import os

# Heroku gives each web dyno its port in PORT. On Fir a web dyno must listen
# on IPv6, [::]:$PORT (Heroku's "Dyno Startup Behavior"); IPv4 connections
# reach a [::] socket too (Linux leaves IPV6_V6ONLY off), so the same bind
# serves Cedar, as heroku/python-getting-started's does. HOST=0.0.0.0 where
# IPv6 is off.
bind = f"{os.environ.get('HOST', '[::]')}:{os.environ.get('PORT', '8000')}"

# Cedar's Python buildpack sets WEB_CONCURRENCY from the dyno's memory, Fir's
# does not; 2 fits a small dyno.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# Threads, chosen by measurement (docs/benchmarks.md): a request spends much
# of its time waiting on memcached (about 1 ms a round trip to MemCachier)
# and PostgreSQL, and a sync worker sits idle through each wait. 8 threads
# kept page hits with memcached 1 ms away closest to the loopback figure
# (4 left the workers waiting, 12 and 16 only added GIL contention).
# Every thread has its own cache and database connections: up to
# WEB_CONCURRENCY x WEB_THREADS PostgreSQL connections per dyno (16 by
# default), twice that during a preboot deploy, when the old dynos still
# serve. Heroku Postgres essential-0 allows 20: with more workers or dynos,
# set WEB_THREADS lower. The cache's skip window, owed version bump and
# stampede lock are per process (tested with both worker models).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))

# Load the app once, before forking: workers start faster and share memory.
# Safe because nothing opens a cache or database connection at import time.
preload_app = True
# SO_REUSEPORT: the kernel spreads connections evenly over the workers.
reuse_port = True

# A worker silent this long is killed and replaced (for gthread, a
# heartbeat: a request itself may take longer). Heroku's router gives up
# on a request after 30 s anyway.
timeout = 30
# After a restart signal, workers finish what they serve for up to this
# long: within the 30 s Heroku gives a dyno to shut down.
graceful_timeout = 20
# Longer than the router's 90 s idle timeout, so that the router, never
# gunicorn, closes an idle connection: no request lost to that race.
keepalive = 95

# Trust X-Forwarded-Proto (and For) from Heroku's router, which every
# request comes through. SCRIPT_NAME and PATH_INFO headers are not taken
# from anyone (a client could send them too, and Django would prefix every
# URL of the shared cached page); Django pins the script prefix as well
# (FORCE_SCRIPT_NAME in settings).
forwarded_allow_ips = "*"
forwarder_headers = ""

# Logs go to stdout, where Heroku collects them, in Heroku's logfmt style
# with the router's request id to match the router's own log line.
# GUNICORN_ACCESS_LOG=0 turns the access log off (the tests and benchmark do).
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG") == "0" else "-"
access_log_format = (
    'gunicorn method=%(m)s path="%(U)s" status=%(s)s duration=%(M)sms '
    'request_id=%({x-request-id}i)s fwd="%({x-forwarded-for}i)s" user_agent="%(a)s"'
)
errorlog = "-"
