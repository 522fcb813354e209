"""One import for nmtool's row kernels: the C build when present.

Set NMTOOL_PURE_PYTHON=1 to force the pure-Python twin (the tests use
this to check that both give the same results).
"""
import os

if os.environ.get("NMTOOL_PURE_PYTHON"):
    from nmtool.kernel._pykernel import (  # noqa: F401
        KIND, mapping_rows, plan_batch)
else:
    try:
        from nmtool.kernel._ckernel import (  # noqa: F401
            KIND, mapping_rows, plan_batch)
    except ImportError:
        from nmtool.kernel._pykernel import (  # noqa: F401
            KIND, mapping_rows, plan_batch)
