"""
Comparisons that decide a target, measured side by side: each contender has
its own server (or URL), all started before the first round, and rounds
alternate which one goes first. A noisy moment on the shared machine then
hits every contender alike, and the report compares their medians.
"""


def alternate(contenders, rounds, measure):
    """measure(name, round_number) for every contender, `rounds` times, the
    order reversed every other round."""
    names = list(contenders)
    for round_number in range(rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            measure(name, round_number)
