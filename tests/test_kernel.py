"""The Cython kernel and its pure-Python twin give the same answers."""
import random

import pytest

from nmtool.kernel import _pykernel

try:
    from nmtool.kernel import _ckernel
except ImportError:  # built without a compiler: only the twin is there
    _ckernel = None

IMPLEMENTATIONS = [_pykernel] + ([_ckernel] if _ckernel else [])


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda m: m.KIND)
def kernel(request):
    return request.param


def test_the_c_kernel_is_built_here():
    # On the project's machines gcc is present, so a missing build is a bug.
    assert _ckernel is not None and _ckernel.KIND == "cython"


def test_nmtool_kernel_picks_one_implementation():
    from nmtool import kernel
    assert kernel.KIND in ("cython", "python")
    assert kernel.plan_batch([1, 2], [[2]], 10) == (2, 3)


# -- plan_batch: how many parents fit the --max_rows budget ------------------

@pytest.mark.parametrize("ids, flagged, budget, expected", [
    ([], [[1]], 5, (0, 0)),
    ([1, 2, 3], [], 2, (2, 2)),
    ([1, 2, 3], [], 10, (3, 3)),
    # parent 1 has rows in two chains: it alone costs 3 and fills budget 3
    ([1, 2, 3, 4], [[1, 3], [1]], 3, (1, 3)),
    ([1, 2, 3, 4], [[1, 3], [3], []], 4, (3, 6)),
    # the parent that crosses the budget is still taken, as nova does
    ([5, 9], [[5, 9], [5, 9], [9]], 4, (2, 7)),
    # flagged ids that are not candidates are ignored
    ([10, 20], [[1, 15, 20, 99]], 100, (2, 3)),
])
def test_plan_batch_examples(kernel, ids, flagged, budget, expected):
    assert kernel.plan_batch(ids, flagged, budget) == expected


def test_plan_batch_twins_agree_on_random_input():
    rng = random.Random(42)
    for _ in range(500):
        ids = sorted(rng.sample(range(1, 3000), rng.randint(0, 200)))
        flagged = [sorted(rng.sample(ids, rng.randint(0, len(ids))))
                   if ids else [] for _ in range(rng.randint(0, 12))]
        budget = rng.randint(1, 600)
        expected = _pykernel.plan_batch(ids, flagged, budget)
        for impl in IMPLEMENTATIONS:
            assert impl.plan_batch(ids, flagged, budget) == expected
        # the reference: cost = 1 + number of chains the parent is in
        taken, cost = expected
        costs = [1 + sum(i in set(f) for f in flagged) for i in ids]
        assert cost == sum(costs[:taken])
        assert taken == len(ids) or cost >= budget
        assert taken == 0 or sum(costs[:taken - 1]) < budget


def test_mapping_rows_skips_mapped_and_repeated_uuids(kernel):
    batch = [("a-1", "p1", "u1"), ("B-2", "p2", None), ("a-1", "p9", "u9"),
             ("c-3", "p3", "u3")]
    assert kernel.mapping_rows(batch, {"b-2"}, 7, "T") == [
        ("T", "a-1", 7, "p1", "u1", 0), ("T", "c-3", 7, "p3", "u3", 0)]
    assert kernel.mapping_rows([], set(), 1, "T") == []


def test_both_kernels_agree_on_mapping_rows():
    rng = random.Random(7)
    for _ in range(200):
        pool = ["%08x-%04d" % (rng.randrange(50), n) for n in range(30)]
        batch = [(rng.choice(pool).upper() if rng.random() < 0.2
                  else rng.choice(pool), "p%d" % i, rng.choice([None, "u"]))
                 for i in range(rng.randint(0, 60))]
        mapped = {u.lower() for u in rng.sample(pool, rng.randint(0, 10))}
        results = [impl.mapping_rows(batch, mapped, 3, None)
                   for impl in IMPLEMENTATIONS]
        assert all(r == results[0] for r in results)
