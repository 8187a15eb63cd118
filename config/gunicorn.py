"""gunicorn settings, used by the Procfile, `make serve` and the benchmark."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Heroku sets WEB_CONCURRENCY from the dyno's memory; 2 fits a small dyno.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Sync workers: the app is short requests to a database and a cache.
worker_class = "sync"
# Load the app once, before forking: workers start faster and share memory.
# Safe because nothing opens a cache or database connection at import time.
preload_app = True
timeout = 30
# gunicorn would take SCRIPT_NAME and PATH_INFO from request headers sent by
# a trusted proxy; Heroku's router never sends them, so only a client could.
# (Django pins the script prefix too: FORCE_SCRIPT_NAME in settings.)
forwarder_headers = ""
# Logs go to stdout, where Heroku collects them.
# GUNICORN_ACCESS_LOG=0 turns the access log off (the benchmark does).
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG") == "0" else "-"
errorlog = "-"
