"""
sync or gthread: gunicorn's two worker models side by side, at the same
WEB_CONCURRENCY, with memcached on loopback and 1 ms away. config/gunicorn.py
(and so the Procfile) uses the one that serves more page hits with memcached
1 ms away, as MemCachier is from a dyno.

All the servers (each model, each distance) run at once and take turns
(bench/side_by_side.py). The same rounds give the target "1 ms away keeps
80% of loopback" for the configured model, with one more server for it: the
configured model with memcached behind a second delay proxy that adds no
delay (a relay). The proxy that makes the 1 ms runs on the 2 cores the app
runs on, and its extra TCP hop and its own CPU are no part of what a dyno
pays for MemCachier's 1 ms; the relay pays them too, so the page hits
through the relay against those 1 ms away show what the 1 ms itself costs.
"""

import threading
from contextlib import contextmanager, nullcontext

from bench.counting import Counters
from bench.data import seed
from bench.delay import DelayProxy
from bench.load import GUNICORN_CONFIG, connections_per_worker, load_run, start_gunicorn, visitor, wrk
from bench.modes import app_env
from bench.side_by_side import alternate

MODELS = ("sync", "gthread")
COMPARED_MODES = ("page", "fragments")
# Where memcached is: on loopback, behind the delay proxy (1 ms), behind the
# relay (the same proxy adding nothing).
LOOPBACK, AWAY, RELAY = "loopback", "delayed", "relay"


def compare(services, counters, args, results):
    for mode in COMPARED_MODES:
        compare_mode(mode, services, counters, args, results)


def compare_mode(mode, services, counters, args, results):
    postgres, memcached, _, proxy_info = services
    count = args.compare_tasks
    servers, relay, relay_counters = {}, None, None
    try:
        for where in (LOOPBACK, AWAY):
            env = app_env(services, mode, delayed=where == AWAY)
            for model in MODELS:
                servers[model, where] = start_gunicorn(f"{mode}-{where}-{model}", env, worker_class=model)
        if mode == "page":
            relay = DelayProxy(memcached.port, 0.0).start()
            relay_counters = Counters(postgres, memcached, relay)
            env = {**app_env(services, mode), "MEMCACHIER_SERVERS": f"127.0.0.1:{relay.port}"}
            servers[GUNICORN_CONFIG["worker_class"], RELAY] = start_gunicorn(f"{mode}-{RELAY}", env)
        seed(count)
        who = {contender: visitor(server.url) for contender, server in servers.items()}
        for contender, server in servers.items():
            wrk(server.url, "/", *who[contender], args, args.warmup)

        def measure(contender, round_number):
            model, where = contender
            through = relay_counters if where == RELAY else counters
            server = servers[contender]
            # A sync worker closes each connection once it has answered:
            # wrk's others wait in the listen backlog, no worker's own.
            sampled = halfway_split(server, args.duration) if model == "gthread" else nullcontext([])
            with sampled as split:
                run = load_run(through, server.url, "/", who[contender], args, delayed=where != LOOPBACK)
            results.append(
                {
                    # The relay's runs are no distance of their own: a
                    # scenario apart, so that no loopback figure counts them.
                    "scenario": "relay" if where == RELAY else "workers",
                    "worker_class": model,
                    "mode": mode,
                    "tasks": count,
                    "rtt_ms": proxy_info["rtt_added_ms"] if where == AWAY else 0.0,
                    "round": round_number,
                    "connections_per_worker": split[0] if split else None,
                    **run,
                }
            )
            print(
                f"{mode:>10} {where:>8} {model:>7} round {round_number}: {run['rps']:7.0f} req/s, "
                f"connections per worker {split}",
                flush=True,
            )

        alternate(servers, args.rounds, measure)
    finally:
        for server in servers.values():
            server.stop()
        if relay_counters:
            relay_counters.db.close()
        if relay:
            relay.stop()


@contextmanager
def halfway_split(server, duration):
    """connections_per_worker(server) halfway through a run of `duration` s
    in the block, in the list the block gets."""
    split = []
    sample = threading.Timer(duration / 2, lambda: split.append(connections_per_worker(server)))
    sample.start()
    try:
        yield split
    finally:
        sample.join()
