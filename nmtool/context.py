"""What a running command can reach: options, configuration, databases."""
from nmtool.errors import NmtoolError

CELL0_UUID = "00000000-0000-0000-0000-000000000000"


class Context:
    def __init__(self, options, args):
        self.options = options
        self.args = args
        self._conf = None
        self._open = []

    @property
    def conf(self):
        """nova.conf, read on first use (a missing file is an error even
        for commands that need nothing from it, as in nova-manage)."""
        if self._conf is None:
            from nmtool.config import Config
            self._conf = Config.load_ordered(self.options.config_sources)
        return self._conf

    @property
    def dry_run(self):
        """--dry-run: every database session is rolled back at the end."""
        return bool(self.args.get("--dry-run"))

    def database(self, url, label, group="database"):
        """An open connection, closed when the command ends. group: the
        nova.conf group whose oslo.db session options apply
        ([database] for cells, [api_database] for the API database).

        In a dry run one database is reached through one session only: its
        uncommitted changes would otherwise lock out a second session on
        the same database (as when [database]/connection is also a cell).
        """
        from nmtool.db.connection import Database
        db = Database(url, label=label, dry_run=self.dry_run)
        sync_wait = self.conf.get_int(group, "mysql_wsrep_sync_wait")
        if sync_wait is not None:
            # As oslo.db does: Galera makes this session's reads wait
            # until the node has applied what the cluster committed.
            db.session_settings.append(
                ("SET SESSION wsrep_sync_wait = %s", (sync_wait,)))
        if self.dry_run:
            key = db.url.identity()
            for other in self._open:
                if other.url.identity() == key:
                    return other
        db.connect()
        self._open.append(db)
        return db

    def main_db(self):
        url = self.conf.database_connection
        if not url:
            raise NmtoolError("[database]/connection is not set in the "
                              "configuration")
        return self.database(url, "main database")

    def api_db(self):
        url = self.conf.api_database_connection
        if not url:
            raise NmtoolError("[api_database]/connection is not set in the "
                              "configuration")
        return self.database(url, "API database", "api_database")

    def close(self):
        opened = bool(self._open)
        while self._open:
            self._open.pop().close()
        if opened and self.dry_run:
            import sys
            print("nmtool: dry run: every change was rolled back",
                  file=sys.stderr)
