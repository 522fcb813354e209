"""The API database rows of archived instances (instance_mappings,
request_specs, instance_group_member), deleted the way nova-manage
deletes them, in a transaction of the API database that runs beside the
cell's batch.

Why beside it: on a large cloud these three DELETEs are a tenth of a
batch's time. Sent from a worker thread on the API connection, they run
on the server while the cell connection moves the batch's rows, and the
batch only waits for them before it commits.

The API transaction commits after the cell's (nova-manage's order), so
no API row is deleted for an instance still in the cell. A run that dies
between the two commits leaves the API rows of archived instances:
sweep() deletes them at the start of the next run over that cell.
"""
from concurrent.futures import Future, ThreadPoolExecutor

import pymysql

from nmtool.db.connection import RETRYABLE_ERRORS
from nmtool.db.statements import sql

API_DB = "API_DB"   # the database's name in the report, as nova-manage's
STATEMENTS = (("instance_mappings", "archive_api.delete_instance_mappings"),
              ("request_specs", "archive_api.delete_request_specs"),
              ("instance_group_member",
               "archive_api.delete_instance_group_members"))
API_TABLES = tuple(table for table, _ in STATEMENTS)
SWEEP_CHUNK = 1000


class ApiCleanup:
    """One per API connection; one batch in flight at a time."""

    def __init__(self, api_db):
        self.db = api_db
        self._pool = None

    def start(self, uuids):
        """Begin deleting the API rows of uuids; returns the ApiBatch to
        commit or roll back."""
        if self.db.dry_run:
            # A dry run may reach the API and cell databases through one
            # session (the same database): no second thread on it.
            done = Future()
            try:
                done.set_result(self._delete(tuple(uuids)))
            except Exception as exc:
                done.set_exception(exc)
            return ApiBatch(done, lambda: self._again(tuple(uuids)))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="nmtool-api")
        return ApiBatch(self._pool.submit(self._delete, tuple(uuids)),
                        lambda: self._again(tuple(uuids)))

    def _delete(self, uuids):
        transaction = self.db.transaction()
        transaction.__enter__()
        try:
            counts = self._deletes(uuids)
        except BaseException as exc:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return transaction, counts

    def _again(self, uuids):
        """The deletes in a transaction of their own, retried on each
        conflict: for a batch whose cell side is already committed."""
        return self.db.run_in_transaction(lambda db: self._deletes(uuids))

    def _deletes(self, uuids):
        return {table: self.db.execute(sql(name), {"uuids": uuids}).rowcount
                for table, name in STATEMENTS}

    def sweep(self, cell_db, cell_uuid=None):
        """Delete the API rows left of instances already archived in the
        cell on cell_db (of the cell mapped as cell_uuid, or of any cell
        when None); returns {API table: rows deleted}. Only mappings of
        deleted instances are candidates, and only those whose instance
        is in the shadow table, not in the cell, lose their rows."""
        counts = {}
        after = -1
        while True:
            rows = self.db.query(sql("archive_api.deleted_mappings"), {
                "after": after, "cell_uuid": cell_uuid,
                "limit": SWEEP_CHUNK})
            if not rows:
                return counts
            after = rows[-1][0]
            uuids = tuple(row[1] for row in rows)
            present = {row[0] for row in cell_db.query(
                sql("archive.instances_among"), {"uuids": uuids})}
            gone = tuple(uuid for uuid in uuids if uuid not in present)
            archived = tuple(row[0] for row in cell_db.query(
                sql("archive.archived_among"), {"uuids": gone})) \
                if gone else ()
            if archived:
                deleted = self.db.run_in_transaction(
                    lambda db: self._deletes(archived))
                for table, count in deleted.items():
                    counts[table] = counts.get(table, 0) + count
            if len(rows) < SWEEP_CHUNK:
                return counts

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class ApiBatch:
    """The API side of one batch, still uncommitted."""

    def __init__(self, future, again):
        self._future = future
        self._again = again

    def wait(self):
        """Wait for the deletes; raises their error."""
        self._future.result()

    def commit(self):
        """Wait for the deletes and commit them; returns their counts."""
        transaction, counts = self._future.result()
        try:
            transaction.__exit__(None, None, None)
        except pymysql.err.OperationalError as exc:
            if not exc.args or exc.args[0] not in RETRYABLE_ERRORS:
                raise
            # Galera refused the COMMIT (certification against a write from
            # another node): the cell's batch is in, so its API rows must
            # go all the same, now in a transaction retried as any other.
            return self._again()
        return counts

    def rollback(self):
        """Undo the deletes (when they got as far as running); returns
        no counts."""
        try:
            transaction, _ = self._future.result()
        except Exception:  # nothing of it survived: _delete rolled back
            return {}
        error = RuntimeError("cell batch failed")
        try:
            transaction.__exit__(RuntimeError, error, None)
        except RuntimeError:
            pass
        return {}
