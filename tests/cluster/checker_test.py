# Tests of checker.py on synthetic histories: a clean run has no anomaly, and each kind of
# anomaly (a lost acknowledgement, a duplicate, a reordering, a gap, a record seen then
# truncated, a backwards commit, diverging replicas, ...) is reported, with its offsets.
#
#   /usr/bin/python3 checker_test.py        (unittest; CTest `cluster_checker`)
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402


class Run:
    """Builds a history: producers send and get acks, the final log, consumers and commits."""

    def __init__(self):
        self.prod, self.cons, self.obs = [], [], []
        self.final = {0: {}, 1: {}}
        self.t = 1000.0

    def tick(self):
        self.t += 1.0
        return self.t

    def send(self, pid, p, seq, ack=None, fail=None, store_at=None):
        """A send; ack=offset acknowledges it; store_at puts it in the final log there (default:
        the acked offset)."""
        self.prod.append({"type": "send", "pid": pid, "p": p, "seq": seq, "t": self.tick()})
        if ack is not None:
            self.prod.append({"type": "ack", "pid": pid, "p": p, "seq": seq, "o": ack,
                              "t": self.tick()})
        if fail is not None:
            self.prod.append({"type": "fail", "pid": pid, "p": p, "seq": seq, "err": fail,
                              "t": self.tick()})
        where = store_at if store_at is not None else ack
        if where is not None:
            self.final[p][where] = f"{pid}:{p}:{seq}"

    def seen(self, member, p, o, v=None):
        self.cons.append({"type": "seen", "member": member, "p": p, "o": o,
                          "v": v if v is not None else self.final[p][o], "t": self.tick()})

    def commit(self, member, p, o, t0=None, t1=None, err=None):
        t0 = t0 if t0 is not None else self.tick()
        t1 = t1 if t1 is not None else self.tick()
        e = {"type": "commit", "member": member, "p": p, "o": o, "t0": t0, "t1": t1}
        if err:
            e["err"] = err
        self.cons.append(e)

    def observe(self, p, o):
        self.obs.append({"type": "observed", "group": "g", "p": p, "o": o, "t0": self.tick()})

    def clean(self, n=5):
        """n acknowledged records per partition, all seen and committed."""
        for p in (0, 1):
            for seq in range(n):
                self.send("a.0", p, seq, ack=seq)
        for p in (0, 1):
            for o in range(n):
                self.seen("m1", p, o)
            self.commit("m1", p, n)
            self.observe(p, n)
        return self

    def check(self, **kw):
        h = checker.History(self.prod, self.cons, self.obs, self.final, **kw)
        return checker.check(h)


def only(report, kind):
    found = [a for a in report.anomalies if a["kind"] == kind]
    return found


class CheckerTest(unittest.TestCase):
    def assertKinds(self, report, kinds):
        self.assertEqual(sorted(set(report.kinds())), sorted(kinds), report.text())

    def test_clean_history_has_no_anomaly(self):
        r = Run().clean().check()
        self.assertTrue(r.ok, r.text())
        self.assertEqual(r.stats["acked"], 10)
        self.assertEqual(r.stats["seen"], 10)

    def test_failed_and_unknown_sends_at_the_end_are_fine(self):
        run = Run().clean()
        run.send("a.0", 0, 5, fail="timed out")   # not stored
        run.send("a.0", 0, 6)                     # no outcome, not stored
        run.send("a.0", 1, 5, fail="timed out", store_at=5)  # failed but stored: allowed
        run.seen("m1", 1, 5)
        run.commit("m1", 1, 6)
        run.observe(1, 6)
        self.assertTrue(run.check().ok, run.check().text())

    def test_lost_ack_is_reported_with_its_offset(self):
        run = Run().clean()
        del run.final[0][3]  # the log lost the acknowledged offset 3 (seq 3)
        r = run.check()
        lost = only(r, "lost")
        self.assertEqual(len(lost), 1, r.text())
        self.assertEqual((lost[0]["p"], lost[0]["seq"], lost[0]["acked_offset"]), (0, 3, 3))

    def test_ack_overwritten_by_another_record_is_lost(self):
        run = Run()
        for seq in range(3):
            run.send("a.0", 0, seq, ack=seq)
        run.final[0][2] = "b.0:0:0"  # a truncated tail rewritten by another producer
        run.send("b.0", 0, 0, ack=2)
        r = run.check(drained=False)
        lost = only(r, "lost")
        self.assertEqual(len(lost), 1, r.text())
        self.assertEqual(lost[0]["final_at_offset"], "b.0:0:0")

    def test_duplicate_is_reported_with_both_offsets(self):
        run = Run().clean()
        run.send("a.0", 0, 5, ack=5)
        run.final[0][6] = "a.0:0:5"  # stored twice (a retry not deduplicated)
        r = run.check(drained=False)
        dup = only(r, "duplicate")
        self.assertEqual(len(dup), 1, r.text())
        self.assertEqual(dup[0]["offsets"], [5, 6])

    def test_a_duplicate_the_client_reported_writing_twice_is_counted_not_failed(self):
        run = Run().clean()
        run.send("kj.0", 0, 0, ack=6)
        run.final[0][5] = "kj.0:0:0"
        run.prod.append({"type": "client-resend", "pid": "kj.0", "p": 0, "seq": 0,
                         "offsets": [5, 6]})
        r = run.check(drained=False)
        self.assertEqual(only(r, "duplicate"), [], r.text())
        self.assertEqual(r.stats["client_resends"], 1)
        # Stored a third time: more than the client's answer said.
        run.final[0][7] = "kj.0:0:0"
        self.assertEqual(len(only(run.check(drained=False), "duplicate")), 1)

    def test_a_commit_below_only_record_less_offsets_is_not_stuck(self):
        run = Run().clean()            # 5 records per partition, committed at 5
        r = run.check(drained=True, marks={0: (0, 6), 1: (0, 5)})  # offset 5 holds no record
        self.assertEqual(only(r, "stuck-consumer"), [], r.text())
        run.final[0][5] = "a.0:0:5"   # a record there: the group never read it
        run.send("a.0", 0, 5, ack=5)
        r = run.check(drained=True, marks={0: (0, 6), 1: (0, 5)})
        self.assertEqual(len(only(r, "stuck-consumer")), 1, r.text())

    def test_reordering_is_reported(self):
        run = Run()
        run.send("a.0", 0, 0, ack=0)
        run.send("a.0", 0, 1, ack=2)
        run.send("a.0", 0, 2, ack=1)
        r = run.check(drained=False)
        ro = only(r, "reordered")
        self.assertEqual(len(ro), 1, r.text())
        self.assertEqual((ro[0]["seq"], ro[0]["offset"], ro[0]["after_seq"]), (1, 2, 2))

    def test_gap_of_an_unacknowledged_send_between_present_ones(self):
        run = Run()
        run.send("a.0", 0, 0, ack=0)
        run.send("a.0", 0, 1)          # no outcome, not in the log
        run.send("a.0", 0, 2, ack=1)
        r = run.check(drained=False)
        gap = only(r, "gap")
        self.assertEqual(len(gap), 1, r.text())
        self.assertEqual((gap[0]["seq"], gap[0]["after_offset"], gap[0]["before_offset"]),
                         (1, 0, 1))

    def test_wrong_offset(self):
        run = Run()
        run.send("a.0", 0, 0, ack=0)
        run.send("a.0", 0, 1, ack=1, store_at=2)
        r = run.check(drained=False)
        self.assertEqual(len(only(r, "wrong-offset")), 1, r.text())

    def test_phantom_record(self):
        run = Run().clean()
        run.final[1][5] = "garbage"
        r = run.check(drained=False)
        self.assertEqual(len(only(r, "phantom")), 1, r.text())

    def test_truncated_seen_record(self):
        run = Run().clean()
        run.seen("m2", 0, 5, v="a.0:0:99")  # read at offset 5, then truncated away
        run.prod.append({"type": "send", "pid": "a.0", "p": 0, "seq": 99, "t": 1})
        r = run.check()
        ts = only(r, "truncated-seen")
        self.assertEqual(len(ts), 1, r.text())
        self.assertEqual((ts[0]["p"], ts[0]["offset"], ts[0]["member"]), (0, 5, "m2"))
        self.assertIn("final log end 5", ts[0]["final"])

    def test_seen_record_replaced_by_another(self):
        run = Run().clean()
        run.seen("m1", 1, 2, v="a.0:1:77")
        r = run.check()
        self.assertEqual(only(r, "truncated-seen")[0]["final"], "a.0:1:2", r.text())

    def test_backwards_commit_between_members(self):
        run = Run().clean()
        run.commit("m1", 0, 5, t0=2000, t1=2001)
        run.commit("m2", 0, 3, t0=2002, t1=2003)  # after m1's commit ended: went down
        r = run.check()
        back = only(r, "commit-backwards")
        self.assertEqual(len(back), 1, r.text())
        self.assertEqual((back[0]["offset"], back[0]["after_offset"]), (3, 5))

    def test_overlapping_commits_are_not_ordered(self):
        run = Run().clean()
        run.send("a.0", 0, 5, ack=5)
        run.send("a.0", 0, 6, ack=6)
        run.seen("m1", 0, 5)
        run.seen("m2", 0, 6)
        run.commit("m1", 0, 7, t0=2000, t1=2003)
        run.commit("m2", 0, 6, t0=2001, t1=2002)  # concurrent with m1's: no order
        r = run.check(drained=False)
        self.assertEqual(only(r, "commit-backwards"), [], r.text())
        run.commit("m2", 0, 6, t0=2004, t1=2005)  # after m1's 7 ended: backwards
        self.assertEqual(len(only(run.check(drained=False), "commit-backwards")), 1)

    def test_failed_commit_does_not_count(self):
        run = Run().clean()
        run.commit("m1", 0, 9, t0=2000, t1=2001, err="REBALANCE_IN_PROGRESS")
        run.commit("m2", 0, 5, t0=2002, t1=2003)
        self.assertTrue(run.check().ok, run.check().text())

    def test_observed_commit_going_back(self):
        run = Run().clean()
        run.observe(1, 2)  # the group's committed offset fell from 5 to 2
        run.observe(1, 5)
        r = run.check()
        back = only(r, "commit-backwards")
        self.assertEqual(len(back), 1, r.text())
        self.assertEqual((back[0]["p"], back[0]["offset"], back[0]["source"]), (1, 2, "observer"))

    def test_commit_beyond_end_and_stuck_consumer(self):
        run = Run().clean()
        run.observe(0, 9)   # above the log end (5)
        run.observe(1, 4)   # no longer... going back, and below the end
        r = run.check()
        self.assertEqual(only(r, "commit-beyond-end")[0]["committed"], 9, r.text())
        self.assertEqual(only(r, "stuck-consumer")[0]["p"], 1, r.text())
        self.assertEqual(only(run.check(drained=False), "stuck-consumer"), [])

    def test_unseen_below_commit(self):
        run = Run().clean()
        run.cons = [e for e in run.cons if not (e["type"] == "seen" and e["o"] == 2 and e["p"]
                                                == 0)]
        r = run.check()
        u = only(r, "unseen-below-commit")
        self.assertEqual(len(u), 1, r.text())
        self.assertEqual(u[0]["first_offsets"], [2])

    def test_replica_divergence(self):
        run = Run().clean()
        b = [(i).to_bytes(8, "big") + b"batch" for i in range(3)]
        same = run.check(replicas={0: {1: b, 2: list(b), 3: list(b)}})
        self.assertTrue(same.ok, same.text())
        other = list(b)
        other[2] = (2).to_bytes(8, "big") + b"BATCH"
        r = run.check(replicas={0: {1: b, 2: list(b), 3: other}})
        div = only(r, "replica-divergence")
        self.assertEqual(len(div), 1, r.text())
        self.assertEqual((div[0]["nodes"], div[0]["batch_index"], div[0]["base_offset"]),
                         ([1, 3], 2, 2))
        short = run.check(replicas={0: {1: b[:2], 2: b, 3: b}})
        self.assertEqual(only(short, "replica-divergence"), [], short.text())
        behind = only(short, "replica-behind")
        self.assertEqual(len(behind), 1, short.text())
        self.assertEqual((behind[0]["node"], behind[0]["missing_from_offset"]), (1, 2))

    def test_incomplete_final_read(self):
        run = Run().clean()
        self.assertEqual(len(only(run.check(final_complete=False), "final-incomplete")), 1)

    def test_load_dir_reads_the_run_files(self):
        run = Run().clean()
        del run.final[1][4]
        d = tempfile.mkdtemp(prefix="checker-test-")
        try:
            def write(name, events):
                with open(os.path.join(d, name), "w") as f:
                    for e in events:
                        f.write(json.dumps(e) + "\n")
                    f.write('{"type": "cut sh')  # a line cut short by a killed client

            write("producer-a.jsonl", run.prod)
            write("consumer-m1.jsonl", run.cons)
            write("observer-g.jsonl", run.obs)
            final = [{"type": "record", "p": p, "o": o, "v": v}
                     for p, recs in run.final.items() for o, v in recs.items()]
            final.append({"type": "final", "marks": {"0": [0, 5], "1": [0, 4]},
                          "complete": True})
            write("final.jsonl", final)
            with open(os.path.join(d, "replicas.json"), "w") as f:
                json.dump({"0": {"1": ["00", "01"], "2": ["00", "02"]}}, f)
            r = checker.check(checker.load_dir(d))
            self.assertEqual(sorted(r.kinds()), ["commit-beyond-end", "lost",
                                                 "replica-divergence", "truncated-seen"],
                             r.text())
            self.assertEqual(only(r, "lost")[0]["seq"], 4)
            self.assertEqual(checker.main([d, "--json", os.path.join(d, "out.json")]), 1)
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
