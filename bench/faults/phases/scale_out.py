"""Scale-out: three memcached servers; one holding a share of the keys (the {tasklist} ones or not) is stopped."""

from bench.faults.phase import run_phase
from harness.faults.checks import share
from harness.faults.rig import TAGGED, memcached_keys, server_items


def scale_out(rig, args, state, name, tagged):
    """Three servers; stop one that holds a share of the keys (the {tasklist} ones or not)."""
    if len(rig.servers) < 3:
        rig.add_servers(3 - len(rig.servers))
    seen = {}

    def stop_one():
        seen["before"] = server_items(rig.servers)
        holders = [s for s in rig.servers if any(TAGGED in key for key in memcached_keys(s.port))]
        candidates = [s for s in rig.servers if (s in holders) == tagged] or rig.servers
        seen["server"] = victim = candidates[0]
        victim.stop()

    def start_again():
        seen["during"] = server_items(rig.servers)
        seen["server"].start()

    result = run_phase(
        rig,
        name,
        state.s(30),
        args,
        fault=(state.s(10), stop_one),
        restore=(state.s(20), start_again),
        baseline=state.baseline,
    )
    before, during, victim = seen["before"], seen["during"], seen["server"].address
    total_items = sum(items for items, _ in before.values())
    result["servers"] = {
        address: {
            "share_before": share(items, total_items),
            "items_before": items,
            "stopped": address == victim,
            "items_while_one_stopped": during.get(address, (None, None))[0],
            "hits_while_one_stopped": during[address][1] - hits if address in during else None,
        }
        for address, (items, hits) in before.items()
    }
    result["stopped_holds_tagged_keys"] = tagged
    return result, ["no_5xx", "every_server_a_share", "others_keep_their_keys"]


def phase_scale_out(rig, args, state):
    return scale_out(rig, args, state, "scale-out", tagged=False)


def phase_scale_out_tagged(rig, args, state):
    return scale_out(rig, args, state, "scale-out-tagged", tagged=True)
