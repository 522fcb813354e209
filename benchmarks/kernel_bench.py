"""Cython kernel against its pure-Python twin, on archive-shaped input.

    python benchmarks/kernel_bench.py

plan_batch: 1,000 candidate parents (nova-manage's default --max_rows)
with 12 child chains each holding rows for a random 10-90 % of them, and a
budget that takes them all (the worst case). Prints the best of 7
timings of each.
"""
import random
import timeit

from nmtool.kernel import _ckernel, _pykernel


def main():
    rng = random.Random(1)
    ids = sorted(rng.sample(range(1, 50000), 1000))
    flagged = [sorted(i for i in ids if rng.random() < rng.uniform(0.1, 0.9))
               for _ in range(12)]
    cases = [
        ("plan_batch (1,000 parents x 12 chains)",
         lambda k: k.plan_batch(ids, flagged, 10 ** 9), 20),
    ]
    assert _ckernel.plan_batch(ids, flagged, 10 ** 9) == \
        _pykernel.plan_batch(ids, flagged, 10 ** 9)
    print("| kernel | pure Python (ms) | Cython (ms) | speed-up |")
    print("|---|---|---|---|")
    for label, call, number in cases:
        py = min(timeit.repeat(lambda: call(_pykernel), number=number,
                               repeat=7)) / number * 1000
        c = min(timeit.repeat(lambda: call(_ckernel), number=number,
                              repeat=7)) / number * 1000
        print("| %s | %.3f | %.3f | %.1fx |" % (label, py, c, py / c))


if __name__ == "__main__":
    main()
