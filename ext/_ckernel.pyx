# cython: language_level=3, boundscheck=False, wraparound=False
"""C kernels for nmtool's client-side row work.

Each function here has a pure-Python twin in nmtool/_pykernel.py with the
same name, signature and results; nmtool.kernel picks one of them.
"""

KIND = "cython"


def id_ranges(ids):
    """Compress ascending integer ids into inclusive (first, last) runs.

    Archive and purge address a batch of rows as a few
    ``id BETWEEN first AND last`` ranges instead of one long IN list.
    Duplicates are folded into their run; a value that is not greater
    than or equal to its predecessor raises ValueError, because a range
    built from unsorted ids would cover rows that were never picked.
    """
    cdef list out = []
    cdef long long first, last, cur
    cdef bint started = False
    for value in ids:
        cur = value
        if not started:
            first = last = cur
            started = True
        elif cur == last or cur == last + 1:
            last = cur
        elif cur > last:
            out.append((first, last))
            first = last = cur
        else:
            raise ValueError("ids are not sorted: %d after %d" % (cur, last))
    if started:
        out.append((first, last))
    return out
