"""One import for nmtool's row kernels: the C build when present.

Set NMTOOL_PURE_PYTHON=1 to force the pure-Python twin (the tests use
this to check that both give the same results).
"""
import os

if os.environ.get("NMTOOL_PURE_PYTHON"):
    from nmtool._pykernel import KIND, id_ranges, plan_batch  # noqa: F401
else:
    try:
        from nmtool._ckernel import KIND, id_ranges, plan_batch  # noqa: F401
    except ImportError:
        from nmtool._pykernel import KIND, id_ranges, plan_batch  # noqa: F401
