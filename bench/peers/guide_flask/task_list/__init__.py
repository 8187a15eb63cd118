# MemCachier's Flask guide, its final state (../README.md): the
# guide's code as it wrote it. Changes, each marked "bench:", only where
# today's packages or our database need one.
import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_migrate import Migrate
from flask_caching import Cache
import pylibmc
from flask_session import Session

cache = Cache()
db = SQLAlchemy()
migrate = Migrate()

def create_app():
    app = Flask(__name__)
    # bench: SQLAlchemy no longer reads the postgres:// scheme that Heroku
    # (and the benchmark) gives DATABASE_URL, and since 2.1 its postgresql://
    # means psycopg 3: name the guide's psycopg2.
    database_url = os.environ.get('DATABASE_URL')
    if database_url and database_url.startswith('postgres://'):
        database_url = 'postgresql+psycopg2://' + database_url[len('postgres://'):]
    app.config.from_mapping(
        SECRET_KEY = os.environ.get('SECRET_KEY') or 'dev_key',
        SQLALCHEMY_DATABASE_URI = database_url or \
            'sqlite:///' + os.path.join(app.instance_path, 'task_list.sqlite'),
        SQLALCHEMY_TRACK_MODIFICATIONS = False
    )

    db.init_app(app)
    migrate.init_app(app, db)

    cache_servers = os.environ.get('MEMCACHIER_SERVERS')
    if cache_servers == None:
        # bench: Flask-Caching 2 knows its backends by their class names
        # only ('simple' was removed).
        cache.init_app(app, config={'CACHE_TYPE': 'SimpleCache'})
    else:
        # bench: None where the guide has '': given '', pylibmc tries a SASL
        # login, which a memcached without SASL (the benchmark's) fails.
        # MemCachier always sets both.
        cache_user = os.environ.get('MEMCACHIER_USERNAME') or None
        cache_pass = os.environ.get('MEMCACHIER_PASSWORD') or None
        cache.init_app(app,
            # bench: 'SASLMemcachedCache' was 'saslmemcached' (Flask-Caching 2).
            config={'CACHE_TYPE': 'SASLMemcachedCache',
                    'CACHE_MEMCACHED_SERVERS': cache_servers.split(','),
                    'CACHE_MEMCACHED_USERNAME': cache_user,
                    'CACHE_MEMCACHED_PASSWORD': cache_pass,
                    'CACHE_OPTIONS': { 'behaviors': {
                        # Faster IO
                        'tcp_nodelay': True,
                        # Keep connection alive
                        'tcp_keepalive': True,
                        # Timeout for set/get requests
                        'connect_timeout': 2000, # ms
                        'send_timeout': 750 * 1000, # us
                        'receive_timeout': 750 * 1000, # us
                        '_poll_timeout': 2000, # ms
                        # Better failover
                        'ketama': True,
                        'remove_failed': 1,
                        'retry_timeout': 2,
                        'dead_timeout': 30}}})
        app.config.update(
            SESSION_TYPE = 'memcached',
            SESSION_MEMCACHED =
                pylibmc.Client(cache_servers.split(','), binary=True,
                               username=cache_user, password=cache_pass,
                               behaviors={
                                    # Faster IO
                                    'tcp_nodelay': True,
                                    # Keep connection alive
                                    'tcp_keepalive': True,
                                    # Timeout for set/get requests
                                    'connect_timeout': 2000, # ms
                                    'send_timeout': 750 * 1000, # us
                                    'receive_timeout': 750 * 1000, # us
                                    '_poll_timeout': 2000, # ms
                                    # Better failover
                                    'ketama': True,
                                    'remove_failed': 1,
                                    'retry_timeout': 2,
                                    'dead_timeout': 30,
                               })
        )
    Session(app)

    from . import models

    from . import task_list
    app.register_blueprint(task_list.bp)

    return app
