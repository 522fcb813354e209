# cython: language_level=3, boundscheck=False, wraparound=False
"""C kernels for nmtool's client-side row work.

Each function here has a pure-Python twin in _pykernel.py beside it, with
the same name, signature and results; nmtool.kernel picks one of them.
Archive batches are chosen by plan_batch and addressed by id lists;
map_instances builds its rows with mapping_rows.
"""

KIND = "cython"


def plan_batch(ids, flagged, long long budget):
    """How many of the candidate parents fit the archive budget.

    ids: ascending parent ids (the candidates, oldest first).
    flagged: one ascending id list per child path (child table reached
    through foreign keys), holding the parents that have rows there.
    Each parent costs 1 plus one per path it has rows in, the way
    nova-manage counts a parent and the child tables moved with it. Parents
    are taken in order until the running cost reaches budget (the parent
    that reaches it is included). Returns (count, cost of those parents).
    """
    cdef Py_ssize_t n = len(ids), npaths = len(flagged), i, p, taken = 0
    cdef long long total = 0, cost, pid
    cdef list paths = [list(f) for f in flagged]
    cdef list pos = [0] * npaths
    cdef Py_ssize_t j
    cdef list path
    for i in range(n):
        pid = ids[i]
        cost = 1
        for p in range(npaths):
            path = <list>paths[p]
            j = pos[p]
            while j < len(path) and <long long>path[j] < pid:
                j += 1
            if j < len(path) and <long long>path[j] == pid:
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

    batch: (uuid, project_id, user_id) rows read from the cell.
    mapped: lower-cased uuids already mapped (the API DB compares uuids
    without regard to case). Returns (created_at, uuid, cell_id,
    project_id, user_id, queued_for_delete=0) tuples for the others, in
    batch order, each uuid once.
    """
    cdef list out = []
    cdef set seen = set(mapped)
    cdef tuple row
    cdef str key
    for row in batch:
        key = (<str>row[0]).lower()
        if key in seen:
            continue
        seen.add(key)
        out.append((created_at, row[0], cell_id, row[1], row[2], 0))
    return out
