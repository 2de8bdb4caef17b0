"""bench/targets.py: the targets' check that bench/run.py prints under its table, from
records shaped as bench/run.py writes them (no server: the check is arithmetic on figures)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import targets  # noqa: E402


def record(parley, peer=None, **nodes):
    """A workload's record: the figures of Parley and, if given, of the peer and of the
    multi-node setups (parley_pg=…, parley_2n=…)."""
    result = {"workload": "w", "parley": {"figures": parley}}
    if peer is not None:
        result["peer"] = {"figures": peer}
    for name, figures in nodes.items():
        result[name.replace("_", "-")] = {"figures": figures}
    return result


def passing_run():
    """Every target met, each by a margin."""
    return {
        "throughput": record(
            {"delivered_per_s": 50000, "server_cpu_us_per_message": 10, "server_rss_mib": 50},
            {"delivered_per_s": 20000, "server_cpu_us_per_message": 45, "server_rss_mib": 200},
            parley_pg={"server_cpu_us_per_message": 80},
            parley_2n={"server_cpu_us_per_message": 90}),
        "throughput-light": record(
            {"server_cpu_us_per_message": 100, "delivery_p99_ms": 1.5},
            {"server_cpu_us_per_message": 150, "delivery_p99_ms": 1.0},
            parley_pg={"server_cpu_us_per_message": 200},
            parley_2n={"server_cpu_us_per_message": 240}),
        "throughput-half": record({"delivery_p99_ms": 4.0}, {"delivery_p99_ms": 9.0}),
        "fanout-1000": record({"to_last_p50_ms": 15.0}, {"to_last_p50_ms": 50.0}),
        "idle": record({"server_bytes_per_connection": 3100}, {"server_bytes_per_connection": 16000}),
        "history": record({"server_cpu_us_per_page": 60}, {"server_cpu_us_per_page": 100}),
        "churn": record({"cycles_per_s": 4000}, {"cycles_per_s": 2000}),
    }


def verdicts(records):
    return {target.what: met for target, _, met in targets.check(records)}


def judged(records):
    """Each judged target's (shown, met), by what it says."""
    return {target.what: (shown, met) for target, shown, met in targets.check(records)}


class TargetsCheckTest(unittest.TestCase):
    def test_a_run_that_meets_every_target_is_judged_on_all_of_them(self):
        result = verdicts(passing_run())
        self.assertEqual(len(result), len(targets.TARGETS))
        self.assertTrue(all(result.values()), result)

    def test_each_target_fails_when_its_figure_is_on_the_wrong_side(self):
        for target in targets.TARGETS:
            with self.subTest(target=target.what):
                run = passing_run()
                figures = run[target.workload][target.of]["figures"]
                if target.kind == "limit":
                    base = target.bound
                else:
                    base = target.bound * run[target.workload][target.against]["figures"][target.figure]
                figures[target.figure] = base * (1.5 if target.at_most else 0.5)
                failed = [what for what, met in verdicts(run).items() if not met]
                self.assertIn(target.what, failed)
                # A figure shared by two targets may fail both; no other target moves.
                for what in failed:
                    other = next(t for t in targets.TARGETS if t.what == what)
                    self.assertEqual((other.workload, other.figure, other.of),
                                     (target.workload, target.figure, target.of))

    def test_a_figure_at_its_bound_meets_it(self):
        run = passing_run()
        run["throughput"]["parley"]["figures"]["delivered_per_s"] = 40000  # 2x 20,000
        run["throughput-light"]["parley"]["figures"]["delivery_p99_ms"] = 2.0
        result = verdicts(run)
        self.assertTrue(result["throughput: messages/s at least 2x the peer's"])
        self.assertTrue(result["throughput-light: p99 send to receive at most 2 ms"])

    def test_a_ratio_without_the_peers_figure_is_not_met(self):
        run = passing_run()
        del run["history"]["peer"]["figures"]["server_cpu_us_per_page"]
        run["churn"]["peer"]["figures"]["cycles_per_s"] = 0
        rows = judged(run)
        for what in ("history page: CPU at most the peer's",
                     "no regression: churn cycles/s at least the peer's"):
            shown, met = rows[what]
            self.assertFalse(met)
            self.assertIn("no peer figure", shown)

    def test_workloads_and_figures_the_run_lacks_are_left_out(self):
        run = passing_run()
        del run["fanout-1000"]
        del run["throughput"]["parley"]["figures"]["server_rss_mib"]
        run["idle"]["parley"]["figures"]["server_bytes_per_connection"] = "n/a"
        judged = {target.workload + " " + target.figure for target, _, _ in targets.check(run)}
        self.assertNotIn("fanout-1000 to_last_p50_ms", judged)
        self.assertNotIn("throughput server_rss_mib", judged)
        self.assertNotIn("idle server_bytes_per_connection", judged)
        self.assertIn("throughput delivered_per_s", judged)

    def test_a_run_without_the_peer_judges_only_the_bounds(self):
        run = passing_run()
        for workload in run.values():
            for setup in ("peer", "parley-pg", "parley-2n"):
                workload.pop(setup, None)  # bench/run.py --only parley
        judged = [target for target, _, _ in targets.check(run)]
        self.assertEqual(judged, [target for target in targets.TARGETS if target.kind == "limit"])

    def test_two_nodes_are_judged_against_one_without_the_peer(self):
        # bench/run.py throughput throughput-light --only parley-pg,parley-2n
        run = {workload: {key: value for key, value in passing_run()[workload].items()
                          if key in ("workload", "parley-pg", "parley-2n")}
               for workload in ("throughput", "throughput-light")}
        run["throughput-light"]["parley-2n"]["figures"]["server_cpu_us_per_message"] = 320
        rows = judged(run)
        self.assertEqual(set(rows), {"two nodes: CPU per message under load within 1.5x of one's",
                                     "two nodes: CPU per message at 2,000/s within 1.5x of one's"})
        shown, met = rows["two nodes: CPU per message under load within 1.5x of one's"]
        self.assertTrue(met)
        self.assertIn("1.125x parley-pg's (90 against 80; bound 1.500x)", shown)
        shown, met = rows["two nodes: CPU per message at 2,000/s within 1.5x of one's"]
        self.assertFalse(met)  # 1.6x
        run["throughput"]["parley-pg"] = "n/a: no PostgreSQL"
        shown, met = judged(run)["two nodes: CPU per message under load within 1.5x of one's"]
        self.assertFalse(met)
        self.assertIn("no parley-pg figure", shown)

    def test_a_skipped_setup_counts_as_no_figure(self):
        run = passing_run()
        run["history"]["peer"] = "n/a: no node"  # how bench/run.py records a skipped setup
        rows = {target.what: met for target, _, met in targets.check(run)}
        self.assertFalse(rows["history page: CPU at most the peer's"])

    def test_the_report_counts_what_was_met_and_names_a_smoke_run(self):
        run = passing_run()
        run["throughput-half"]["parley"]["figures"]["delivery_p99_ms"] = 59.1
        lines = targets.report(run)
        self.assertTrue(lines[0].startswith("targets of the message path"))
        self.assertEqual(lines[-1].strip(), f"{len(targets.TARGETS) - 1} of {len(targets.TARGETS)} met")
        half = next(line for line in lines if "half of the peak" in line)
        self.assertIn("NOT met", half)
        self.assertIn("59.1 ms (bound 5 ms)", half)
        self.assertIn("smoke run", targets.report(run, smoke=True)[0])
        self.assertEqual(targets.report({}), [])

    def test_a_ratio_just_under_its_bound_does_not_read_as_the_bound(self):
        run = passing_run()
        run["throughput"]["parley"]["figures"]["delivered_per_s"] = 39920  # 1.996x 20,000
        rows = judged(run)
        shown, met = rows["throughput: messages/s at least 2x the peer's"]
        self.assertFalse(met)
        self.assertIn("1.996x the peer's", shown)
        self.assertIn("bound 2.000x", shown)


if __name__ == "__main__":
    unittest.main()
