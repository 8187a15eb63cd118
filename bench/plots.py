"""The load benchmark's plots (PNG), from its results: bench/report.py draws them."""

from bench.selection import MODE_ORDER, SCENARIOS, runs_of

# file -> (scenario, field, axis label)
PLOTS = {
    "warm_rps.png": ("warm", "rps", "requests/s"),
    "mixed_rps.png": ("mixed", "rps", "requests/s"),
    "after_change.png": ("after_change", "median_ms", "median ms"),
}


def plot(report, out):
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    for name, (scenario, field, label) in PLOTS.items():
        title = SCENARIOS[scenario].format(write_every=report["settings"]["write_every"])
        figure = panels(plt, report, scenario, field, label, title)
        figure.savefig(out / name, dpi=110)
        plt.close(figure)


def panels(plt, report, scenario, field, ylabel, title):
    """Loopback and delayed memcached side by side, one line per mode vs N."""
    from matplotlib.ticker import FuncFormatter

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, is_delayed in zip(axes, (False, True), strict=True):
        for mode in MODE_ORDER:
            # The ceilings use no memcached: the same lines in both panels.
            runs = runs_of(report, scenario, None if mode in ("constant",) else is_delayed, mode)
            if not runs:
                continue
            # One colour per mode in every plot, whichever modes ran.
            style = "--" if mode in ("constant",) else "-"
            axis.plot(
                [r["tasks"] for r in runs],
                [r[field] for r in runs],
                style,
                marker="o",
                color=f"C{MODE_ORDER.index(mode)}",
                label=report["labels"][mode],
            )
        axis.set_xscale("log")
        axis.set_xticks(report["settings"]["tasks"], [str(n) for n in report["settings"]["tasks"]])
        # Rates and latencies span decades between 10 and 10000 tasks.
        axis.set_yscale("log")
        # Plain numbers (5, 10, 20), not 10^1 with unlabelled ticks.
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
        axis.set_xlabel("tasks in the list")
        axis.set_title(f"memcached {report['proxy']['rtt_added_ms']:.2f} ms away" if is_delayed else "loopback")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize="small")
    figure.suptitle(f"{title} ({report['date'][:10]})")
    figure.tight_layout()
    return figure
