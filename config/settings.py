"""
Settings for the task list, read from the environment in this one module.

Every variable is listed in README.md. With none set, the app runs on the
embedded defaults: SQLite in the project folder and a file cache shared by
all worker processes of the machine, with DEBUG off unless DEBUG=1.
"""

import os
import re
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("DEBUG", False)

# Heroku sets DYNO on every dyno; Heroku CI sets it too, with CI.
IS_HEROKU_APP = "DYNO" in os.environ and "CI" not in os.environ

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY.strip():
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long "
            "random string (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), or set DEBUG=1 for local development."
        )
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    # Heroku apps answer on <app>.herokuapp.com; anything else must be listed.
    ALLOWED_HOSTS = [".herokuapp.com", "localhost", "127.0.0.1"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where a client's address comes from (tasks/throttle.py's limits): the last
# X-Forwarded-For entry, which Heroku's router appends, on a dyno; anywhere
# else the connection's own address, unless a proxy you run says so too.
TRUST_X_FORWARDED_FOR = env_flag("TRUST_X_FORWARDED_FOR", IS_HEROKU_APP)

# The app is served at the root of its host, whatever a request says.
# Otherwise Django takes the script prefix from the request (gunicorn copies
# a SCRIPT_NAME header into it for proxies it trusts), puts it in front of
# every URL, and the shared cached page would carry one visitor's prefix,
# /admin/logout say, to everybody.
FORCE_SCRIPT_NAME = ""

INSTALLED_APPS = [
    # Django's admin with this project's site: a throttled login, a Cache page.
    "tasks.apps.TasksAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, so runserver serves static files the way gunicorn will.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "tasks",
]

MIDDLEWARE = [
    # What each request cost, in a Server-Timing header: first, to time all the rest.
    "tasks.server_timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A header only: high up, so that the cached page's early answer has it too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response,
    # the cached page and the error pages included, each built once.
    "config.response_headers.ResponseHeadersMiddleware",
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 before anything reads it.
    "tasks.request_limits.RequestBodyLimitMiddleware",
    # A hit on the cached page is answered here (tasks/page_cache.py), with
    # none of the work of the middleware below, URL resolving, the view or
    # any template.
    "tasks.page_cache.PageCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A logout memcached can't confirm: a 503 that says so (tasks/sessions.py).
    "tasks.sessions.SessionCacheMiddleware",
    # The database away: a 503 with Retry-After, not a 500 (tasks/database_outage.py).
    "tasks.database_outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        # Django's template engine, with each render timed for Server-Timing.
        "BACKEND": "tasks.server_timing.TimedDjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (Heroku Postgres sets it), else SQLite in the project.
# Persistent connections save a TCP + auth handshake per request; the health
# check reconnects by itself after a database restart. On a dyno the
# connection to Heroku Postgres must use TLS (sslmode=require); a local or
# test database keeps working without it.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=600,
        conn_health_checks=True,
        ssl_require=IS_HEROKU_APP and os.environ.get("DATABASE_URL", "").startswith("postgres"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Every wait on the database is bounded (docs/reliability.md, "The
    # database away"): libpq waits for ever to connect to a host that doesn't
    # answer unless told not to (2 s is its smallest timeout), and TCP waits
    # minutes for a host that vanished mid-query. A statement runs 5 s at most:
    # this app's take milliseconds. (A long migration:
    # DATABASE_STATEMENT_TIMEOUT=0 python manage.py migrate.)
    statement_timeout = os.environ.get("DATABASE_STATEMENT_TIMEOUT", "5s")
    if not re.fullmatch(r"[0-9]+(ms|s|min)?", statement_timeout):
        raise ImproperlyConfigured("DATABASE_STATEMENT_TIMEOUT must be a PostgreSQL duration, such as 5s or 500ms")
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": 2,
        "tcp_user_timeout": 5000,  # ms
        "options": f"-c statement_timeout={statement_timeout}",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    # Django's backend, which after a failed connection doesn't make every
    # request wait for the next one to fail (tasks/database_outage.py).
    DATABASES["default"]["ENGINE"] = "tasks.postgresql"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default, shared by runserver and gunicorn's workers. WAL
    # lets reads go on during a write; IMMEDIATE takes the write lock when a
    # transaction starts, so a contended write waits (up to timeout seconds)
    # instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# Cache: MemCachier (or any memcached) when MEMCACHIER_SERVERS is set.
MEMCACHIER_SERVERS = env_list("MEMCACHIER_SERVERS")
if MEMCACHIER_SERVERS:
    default_cache = {
        # django-bmemcached, made to keep Django's whole cache contract, with
        # consistent-hash sharding, short timeouts and fault tolerance added:
        # see memcachier_cache/ for why.
        "BACKEND": "memcachier_cache.MemCachierCache",
        "LOCATION": MEMCACHIER_SERVERS,
        "OPTIONS": {
            "username": os.environ.get("MEMCACHIER_USERNAME") or None,
            "password": os.environ.get("MEMCACHIER_PASSWORD") or None,
            # bmemcached pickles with protocol 0 by default: 2x bigger, 5x slower.
            "pickle_protocol": 5,
            # bmemcached waits 3 s by default; a hosted memcache answers in ~1 ms.
            "socket_timeout": float(os.environ.get("MEMCACHIER_TIMEOUT", "0.25")),
            # Each round trip counted for the Server-Timing header.
            "on_round_trip": "tasks.server_timing.count_round_trip",
        },
    }
else:
    # LocMemCache is per process: one gunicorn worker would keep serving a
    # page another worker invalidated. Files are shared by every process.
    default_cache = {
        # Django's FileBasedCache, its operations timed for Server-Timing.
        "BACKEND": "tasks.server_timing.TimedFileBasedCache",
        "LOCATION": os.environ.get("FILE_CACHE_DIR", str(BASE_DIR / ".cache")),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
# memcached keys can't hold spaces or control characters and stop at 250
# bytes; MemCachierCache raises InvalidCacheKey on every key that breaks
# that. A bad prefix would break every key, so it is refused at start.
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "tasklist")
if not re.fullmatch(r"[!-~]{0,100}", CACHE_KEY_PREFIX):
    raise ImproperlyConfigured(
        "CACHE_KEY_PREFIX must be at most 100 printable ASCII characters, without "
        "spaces: it starts every memcached key, and memcached keys can't hold "
        "spaces or control characters, or be over 250 bytes."
    )
default_cache["KEY_PREFIX"] = CACHE_KEY_PREFIX
default_cache["TIMEOUT"] = 24 * 60 * 60

# Which caching layers are on: any of query, fragments, page (default: all),
# or "none". The benchmark switches them to measure what each one buys.
CACHE_LAYERS = set(env_list("CACHE_LAYERS", "query,fragments,page")) - {"none"}
unknown_layers = CACHE_LAYERS - {"query", "fragments", "page"}
if unknown_layers:
    raise ImproperlyConfigured(f"CACHE_LAYERS has unknown layers: {sorted(unknown_layers)}")

CACHES = {
    "default": default_cache,
    # The fragment tags ({% typed_cache %}, {% task_rows %}) use this alias; a DummyCache turns fragments off.
    "template_fragments": (
        default_cache if "fragments" in CACHE_LAYERS else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    ),
}

# Sessions in the cache, written through to the database: a memcached restart
# or eviction logs nobody out. Django's cached_db, where a logout that can't
# reach memcached is refused rather than undone later: see tasks/sessions.py.
SESSION_ENGINE = "tasks.sessions"
# Messages travel in a cookie, so the page cache can tell from the request
# alone that a response carries one and must not be shared.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Request bodies: the largest form here (the admin's) is a few KiB, and
# nothing takes a file. Bigger bodies are refused unread
# (tasks/request_limits.py); smaller uploads stay in memory, never on disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files that whitenoise serves with far-future caching.
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Only the hashed names are served: a slug half the size, and no stale
# unhashed copy of a file to be cached by a browser.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# HTTPS. On by default in production (Heroku terminates TLS at its router and
# says so in X-Forwarded-Proto). HTTPS_ONLY=0 serves plain HTTP, for a local
# gunicorn, the browser tests and the benchmark.
HTTPS_ONLY = env_flag("HTTPS_ONLY", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The task form reads its token from the page, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (Django's own): this site's own files only, no
# inline script or style anywhere (the admin's included), no framing, forms
# that post only here. The browser tests fail on any violation.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Browser features this site never uses, off for it and anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), browsing-topics=()"
)

# Error reports (the DEBUG page, error emails) hide user names as well as
# passwords and keys: no memcached or database credential in them.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.CredentialsFilter"

# Logs go to stdout, where Heroku (and gunicorn) collect them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": sys.stdout, "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # bmemcached logs every get at DEBUG and its own failures at ERROR;
        # memcachier_cache reports failures once, rate limited.
        "bmemcached": {"level": "CRITICAL"},
        # Django adds its own console handler when DEBUG is on; without this
        # every django.request line would be printed twice (it propagates).
        "django": {"handlers": [], "level": "INFO"},
        # 404s (and 4xx in general) are logged at WARNING: a bot's scan
        # would drown the log. Errors stay.
        "django.request": {"level": "ERROR"},
    },
}
