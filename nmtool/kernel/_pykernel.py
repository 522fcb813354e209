"""Pure-Python twin of _ckernel.pyx beside it: same names, same results.

Used when the C extension could not be built; the tests run both
implementations on the same inputs.
"""

KIND = "python"


def plan_batch(ids, flagged, budget):
    """How many of the candidate parents fit the archive budget.

    Same contract as the C version: each parent costs 1 plus one per child
    path it has rows in; parents are taken until the cost reaches budget.
    Returns (count, cost of those parents).
    """
    paths = [list(f) for f in flagged]
    pos = [0] * len(paths)
    taken = total = 0
    for i, pid in enumerate(ids):
        cost = 1
        for p, path in enumerate(paths):
            j = pos[p]
            while j < len(path) and path[j] < pid:
                j += 1
            if j < len(path) and path[j] == pid:
                cost += 1
                j += 1
            pos[p] = j
        total += cost
        taken = i + 1
        if total >= budget:
            break
    return taken, total


def mapping_rows(batch, mapped, cell_id, created_at):
    """The instance_mappings rows map_instances inserts for one batch.

    Same contract as the C version: rows of batch whose uuid (compared
    lower-cased) is neither in mapped nor earlier in the batch, as
    (created_at, uuid, cell_id, project_id, user_id, 0).
    """
    out = []
    seen = set(mapped)
    for uuid, project_id, user_id in batch:
        key = uuid.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append((created_at, uuid, cell_id, project_id, user_id, 0))
    return out
