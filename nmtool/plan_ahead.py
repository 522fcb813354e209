"""Planning the next archive batch of a table while the current one
moves its rows.

Why: a plan asks, per candidate parent and per chain of child tables,
whether there are rows (nova-manage's --max_rows accounting needs it);
that is a tenth of a batch's server time. Made on a second connection,
without locks, above the last id of the batch in flight, it runs on the
server's other core and touches none of that batch's rows. The batch
that uses it locks the planned rows first and plans again for itself
when they are not what was planned.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

LOG = logging.getLogger(__name__)


class PlanAhead:
    """One plan in flight at a time, on its own connection."""

    def __init__(self, side_db):
        self.db = side_db
        self._pool = ThreadPoolExecutor(max_workers=1,
                                        thread_name_prefix="nmtool-plan")
        self._pending = None

    def submit(self, key, plan):
        """Start plan(side_db) for the batch named by key."""
        self.discard()
        self._pending = (key, self._pool.submit(plan, self.db))

    def take(self, key):
        """The plan made for key, or None (none made, another batch's, or
        it failed: planning ahead only ever saves time)."""
        if self._pending is None:
            return None
        made_for, future = self._pending
        self._pending = None
        try:
            rows = future.result()
        except Exception as exc:
            LOG.debug("Planning ahead failed, the batch plans itself: %s",
                      exc)
            return None
        return rows if made_for == key else None

    def discard(self):
        if self._pending is not None:
            self.take(None)

    def close(self):
        self.discard()
        self._pool.shutdown()
        self.db.close()
