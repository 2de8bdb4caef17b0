"""The message path's targets, checked from one side-by-side run's figures.

`bench/run.py` prints this check under its table whenever a run has the workloads a target
needs (`make bench` runs them all), so that every run says which targets it met, on the
machine it ran on, without reading docs/performance.md. A target compares Parley's figure
either with a bound of its own (`limit`) or with the peer's figure in the same run (`ratio`);
the two-node ones compare two nodes on PostgreSQL and Redis (`parley-2n`) with one
(`parley-pg`) the same way. A target whose workload or figure is missing from the run is left
out, and so is a ratio when the run has no result of the setup it compares with (`--only
parley`, or that setup failed, which the run reports); a ratio whose setup was skipped or lacks
the figure (or has it at zero) reads "no ... figure" and counts as not met. bench/project.py
projects several nodes' capacity and checks the other multi-node targets; `sync` has no peer
to compare with.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    workload: str
    figure: str
    kind: str  # "limit": Parley's figure against `bound`; "ratio": Parley's over the peer's
    at_most: bool  # the figure (or ratio) must be at most `bound`, else at least
    bound: float
    what: str
    unit: str = ""  # shown after a limit's figure and bound
    of: str = "parley"  # the setup whose figure is judged
    against: str = "peer"  # a ratio's other setup


TARGETS = [
    Target("throughput", "delivered_per_s", "ratio", False, 2.0,
           "throughput: messages/s at least 2x the peer's"),
    Target("throughput", "server_cpu_us_per_message", "ratio", True, 1 / 3,
           "throughput: CPU per message at most 1/3 of the peer's"),
    Target("throughput-light", "server_cpu_us_per_message", "ratio", True, 1.0,
           "throughput-light: CPU per message at most the peer's"),
    Target("throughput-light", "delivery_p99_ms", "limit", True, 2.0,
           "throughput-light: p99 send to receive at most 2 ms", " ms"),
    Target("throughput-half", "delivery_p99_ms", "limit", True, 5.0,
           "half of the peak: p99 send to receive at most 5 ms", " ms"),
    Target("fanout-1000", "to_last_p50_ms", "limit", True, 20.0,
           "fan-out to 1,000: last member p50 at most 20 ms", " ms"),
    Target("idle", "server_bytes_per_connection", "limit", True, 4096,
           "idle WebSocket: at most 4 KB of server memory", " B"),
    Target("history", "server_cpu_us_per_page", "ratio", True, 1.0,
           "history page: CPU at most the peer's"),
    Target("churn", "cycles_per_s", "ratio", False, 1.0,
           "no regression: churn cycles/s at least the peer's"),
    Target("throughput", "server_rss_mib", "ratio", True, 1.0,
           "no regression: memory under load at most the peer's"),
    Target("fanout-1000", "to_last_p50_ms", "ratio", True, 1.0,
           "no regression: fan-out's last member no later than the peer's"),
    Target("throughput", "server_cpu_us_per_message", "ratio", True, 1.5,
           "two nodes: CPU per message under load within 1.5x of one's",
           of="parley-2n", against="parley-pg"),
    Target("throughput-light", "server_cpu_us_per_message", "ratio", True, 1.5,
           "two nodes: CPU per message at 2,000/s within 1.5x of one's",
           of="parley-2n", against="parley-pg"),
]


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _figure(record, setup, name):
    result = record.get(setup)
    if not isinstance(result, dict):
        return None
    return _number(result.get("figures", {}).get(name))


def _shown(value):
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def check(records, targets=TARGETS):
    """records: {workload: the record bench/run.py writes as JSON}. One (target, shown, met)
    per target the run can judge, in the targets' order; met is True or False."""
    rows = []
    for target in targets:
        record = records.get(target.workload)
        if record is None:
            continue
        judged = _figure(record, target.of, target.figure)
        if judged is None:
            continue
        if target.kind == "limit":
            value = judged
            shown = f"{_shown(judged)}{target.unit} (bound {_shown(target.bound)}{target.unit})"
        else:
            if target.against not in record:  # not asked for in this run
                continue
            compared = _figure(record, target.against, target.figure)
            if not compared:
                rows.append((target, f"{_shown(judged)}; no {target.against} figure", False))
                continue
            value = judged / compared
            other = "the peer" if target.against == "peer" else target.against
            # Three decimals: at two, 1.996 would read as the bound of 2.00 and yet not meet it.
            shown = (f"{value:.3f}x {other}'s ({_shown(judged)} against {_shown(compared)}; "
                     f"bound {target.bound:.3f}x)")
        met = value <= target.bound if target.at_most else value >= target.bound
        rows.append((target, shown, met))
    return rows


def report(records, smoke=False):
    """The check as printed lines; none when the run can judge no target."""
    rows = check(records)
    if not rows:
        return []
    heading = "targets of the message path, this run"
    if smoke:
        heading += " (a smoke run: sizes too small for the figures to mean anything)"
    width = max(len(target.what) for target, _, _ in rows)
    lines = [heading + ":"]
    for target, shown, met in rows:
        lines.append(f"  {'met    ' if met else 'NOT met'}  {target.what.ljust(width)}  {shown}")
    met_count = sum(1 for _, _, met in rows if met)
    lines.append(f"  {met_count} of {len(rows)} met")
    return lines
