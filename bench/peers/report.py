"""The peers' section of results.md, and their targets, from results.json's "peers" (bench/peers/phase.py)."""

KINDS = ("new", "returning")
PEERS = ("flask", "cache_page")
COUNTED = ("sql", "keys_got", "keys_set", "memcached_connections")


def number(value, digits=0):
    return f"{value:,.{digits}f}"


def table(columns, rows):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def target_text(peers, target):
    ours, peer = (peers["servers"][name][target["kind"]]["median_rps"] for name in ("ours", target["peer"]))
    return (
        f"Page hit at {peers['tasks']} tasks, {target['kind']} visitors: {target['ratio']:.2f}x "
        f"{peers['servers'][target['peer']]['label']}'s req/s ({ours:,.0f} vs {peer:,.0f}, medians of "
        f"{peers['rounds']} alternating rounds); target at least {target['target']:.1f}x"
    )


def targets(report):
    """(where the target comes from, text, met), for the report's list of targets."""
    peers = report.get("peers")
    if not peers:
        return []
    return [("peers", target_text(peers, target), target["met"]) for target in peers["targets"]]


def servers_table(peers):
    rows = []
    for server in peers["servers"].values():
        new, returning = (server[kind] for kind in KINDS)
        model = server["worker_class"] + (f", {server['threads']} threads" if server["threads"] > 1 else "")
        rows.append(
            [
                server["label"],
                f"{server['workers']} {model}",
                number(new["median_rps"]),
                number(returning["median_rps"]),
                f"{number(new['min_rps'])}–{number(new['max_rps'])}",
                f"{number(returning['min_rps'])}–{number(returning['max_rps'])}",
                f"{number(new['median_p50_ms'], 2)} / {number(returning['median_p50_ms'], 2)}",
                number(server["body_bytes"]),
                f"{number(new['bytes_per_response'])} / {number(returning['bytes_per_response'])}",
                ", ".join(server["first_visit_cookies"]) or "none",
                number(new["errors"] + returning["errors"]),
            ]
        )
    columns = ["Server", "gunicorn workers", "new req/s", "returning req/s", "new: range", "returning: range"]
    columns += ["p50 ms (new / ret.)", "page bytes", "bytes/resp (new / ret.)", "first GET sets", "errors"]
    return table(columns, rows)


def counts_table(peers):
    rows = []
    for server in peers["servers"].values():
        new, returning = (server[kind] for kind in KINDS)
        rows.append([server["label"]] + [f"{number(new[name], 2)} / {number(returning[name], 2)}" for name in COUNTED])
    columns = ["Server, per request (new / returning)", "SQL", "memcached keys got", "keys set"]
    return table(columns + ["memcached connections opened"], rows)


def ratios_table(peers):
    rows = []
    for peer in PEERS:
        row = [f"{peers['servers']['ours']['label']} / {peers['servers'][peer]['label']}"]
        for kind in KINDS:
            target = next(t for t in peers["targets"] if t["peer"] == peer and t["kind"] == kind)
            verdict = "met" if target["met"] else "**missed**"
            row.append(f"{target['ratio']:.2f}x (target {target['target']:.1f}x: {verdict})")
        rows.append(row)
    return table(["Ratio of median req/s", "new visitors", "returning visitors"], rows)


def rounds_table(peers):
    names = list(peers["servers"])
    columns = ["Round"] + [f"{name} {kind}" for name in names for kind in KINDS]
    rows = []
    for n in range(1, peers["rounds"] + 1):
        rps = {(run["server"], run["kind"]): run["rps"] for run in peers["runs"] if run["round"] == n}
        rows.append([str(n)] + [number(rps[name, kind]) for name in names for kind in KINDS])
    return table(columns, rows)


def csrf_text(peers):
    def yes(flag):
        return "yes" if flag else "no"

    lines = []
    for name, check in peers["csrf_check"].items():
        lines.append(
            f"- {peers['servers'][name]['label']}: the second new visitor's page carried the first visitor's "
            f"token: **{yes(check['second_page_has_first_token'])}**; it got a csrftoken cookie: "
            f"**{yes(check['second_visitor_got_cookie'])}**; its POST of the add form: "
            f"**{check['second_visitor_post_status']}** (the first visitor's, with its own cookie and token: "
            f"{check['first_visitor_post_status']})."
        )
    return "\n".join(lines)


def section(report):
    """The "Peers" section of results.md, as a list of its parts."""
    peers = report.get("peers")
    if not peers:
        return []
    versions = ", ".join(f"{name} {version}" for name, version in peers["versions"].items())
    return [
        f"## Peers: a page hit at {peers['tasks']} tasks beside the guide's Flask app and Django's cache_page",
        f"The same {peers['tasks']} tasks from the same PostgreSQL and memcached (loopback), each server under "
        f"gunicorn with 2 workers, measured in {peers['rounds']} alternating rounds of {peers['duration_s']} s per "
        f"server and visitor (after {peers['warmup_s']} s of warm-up each); req/s are medians, ranges the slowest "
        "and fastest round. A new visitor sends no cookie; a returning one sends the cookies a first GET set. "
        "The guide's Flask app sets none, so its new and returning visitors send the same request, measured "
        "twice. The peers run from .venv-peers (bench/peers/): " + versions + ".",
        servers_table(peers),
        ratios_table(peers),
        "What a request cost the servers, as PostgreSQL and memcached count them (medians of the rounds; "
        "memcached counts a get of 2 keys as 2):",
        counts_table(peers),
        "Does a cached page hand one visitor's CSRF token to the next? Two new visitors in turn, the page not "
        "yet cached, then each posts the add form with the token and cookie it got (real requests, this run):",
        csrf_text(peers),
        "Each round's req/s (the order of servers turns from round to round):",
        rounds_table(peers),
    ]
