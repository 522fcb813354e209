"""Where an nmtool run's SQL time went, at its start and at its end.

    python benchmarks/sql_log_profile.py LOG.jsonl [--share 0.1]

Reads an nmtool --sql-log file (JSON lines: ts, name, ms, rows, ...) and
prints, for the first and the last `share` of the run's wall time, each
named statement's calls, mean milliseconds per call and rows per call,
and the milliseconds it cost per batch (a batch being one
`archive.lock_candidates`, the statement that starts each), dearest
first. A statement growing from start to end is what makes a long run
slower than a short one.
"""
import argparse
import collections
import datetime
import json

BATCH = "archive.lock_candidates"


def when(ts):
    return datetime.datetime.fromisoformat(ts.rstrip("Z"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("--share", type=float, default=0.1)
    opts = parser.parse_args()
    with open(opts.log) as f:
        first = when(json.loads(f.readline())["ts"])
        last = first
        for line in f:
            pass
        last = when(json.loads(line)["ts"])
    total = (last - first).total_seconds()
    parts = {"start": (0, total * opts.share),
             "end": (total * (1 - opts.share), total)}
    stats = {p: collections.defaultdict(lambda: [0, 0.0, 0])
             for p in parts}
    with open(opts.log) as f:
        for line in f:
            entry = json.loads(line)
            at = (when(entry["ts"]) - first).total_seconds()
            for part, (lo, hi) in parts.items():
                if lo <= at <= hi:
                    s = stats[part][entry["name"] or "(session)"]
                    s[0] += 1
                    s[1] += entry["ms"] or 0
                    s[2] += entry["rows"] or 0
    print("run: %.1f s of statements logged; parts: first and last %.0f %%"
          % (total, opts.share * 100))
    names = sorted(set(stats["start"]) | set(stats["end"]),
                   key=lambda n: -stats["end"].get(n, [0, 0, 0])[1])
    batches = {p: stats[p].get(BATCH, [0])[0] or 1 for p in parts}
    print("batches: start %d, end %d" % (batches["start"], batches["end"]))
    print("| statement | calls start/end | ms per call start | ms per call "
          "end | rows per call start | rows per call end | ms per batch "
          "start | ms per batch end |")
    print("|---|---|---|---|---|---|---|---|")
    sums = {p: 0.0 for p in parts}
    for name in names:
        row = []
        for part in parts:
            calls, ms, rows = stats[part].get(name, [0, 0.0, 0])
            row.append((calls, ms / calls if calls else 0,
                        rows / calls if calls else 0, ms / batches[part]))
            sums[part] += ms / batches[part]
        (c0, m0, r0, b0), (c1, m1, r1, b1) = row
        print("| %s | %d/%d | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f |" % (
            name, c0, c1, m0, m1, r0, r1, b0, b1))
    print("| all | | | | | | %.2f | %.2f |" % (sums["start"], sums["end"]))


if __name__ == "__main__":
    main()
