"""Pure-Python twin of ext/_ckernel.pyx: same names, same results.

Used when the C extension could not be built; the tests run both
implementations on the same inputs.
"""

KIND = "python"


def id_ranges(ids):
    """Compress ascending integer ids into inclusive (first, last) runs."""
    out = []
    it = iter(ids)
    for first in it:
        break
    else:
        return out
    first = last = int(first)
    for value in it:
        cur = int(value)
        if cur == last or cur == last + 1:
            last = cur
        elif cur > last:
            out.append((first, last))
            first = last = cur
        else:
            raise ValueError("ids are not sorted: %d after %d" % (cur, last))
    out.append((first, last))
    return out
