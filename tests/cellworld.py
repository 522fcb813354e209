"""Small hand-built deployments for the cell_v2 tests.

A World is an API database plus cell databases, filled from a plain
description, so the same deployment can be built twice (once for
nova-manage, once for nmtool) and the two end states compared after
the databases' own names are replaced by stable tokens.
"""
import re
import uuid as uuidlib

from conftest import CELL0, conf_path, db_url, server_connection

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uid(n):
    """A readable fixed uuid: uid(3) = 00000000-0000-0000-0000-000000000003."""
    return "00000000-0000-0000-0000-%012d" % n


class World:
    """cells: {token: spec}; the token "cell1" is [database]/connection.

    A cell spec: {"name", "uuid", "transport_url", "password", "disabled",
    "template", "mapped" (False: no cell mapping), "nodes": [(host,
    deleted, mapped)], "services": [(host, binary, deleted)],
    "instances": [(uuid, deleted, host, created_at[, hidden])], "db":
    False for a mapping whose database does not exist}. A hidden instance
    is the copy a cross-cell resize keeps in the other cell.
    """

    def __init__(self, databases, synced, cells, host_mappings=(),
                 instance_mappings=(), cell0=True, conf_extra=""):
        self.api = synced("api")
        self.dbs = {}
        self.known = {CELL0}
        for token, spec in cells.items():
            self.dbs[token] = (synced("main") if spec.get("db", True)
                               else "nmt_missing_" + uuidlib.uuid4().hex[:8])
        if cell0:
            self.dbs["cell0"] = synced("main")
        self.cells = cells
        self.conf_extra = conf_extra
        with server_connection(self.api) as api:
            cur = api.cursor()
            if cell0:
                cur.execute(
                    "INSERT INTO cell_mappings (created_at, uuid, name, "
                    "transport_url, database_connection, disabled) VALUES "
                    "(NOW(), %s, 'cell0', 'none:///', %s, 0)",
                    (CELL0, db_url(self.dbs["cell0"])))
            for index, (token, spec) in enumerate(cells.items()):
                self.known.add(spec["uuid"])
                if spec.get("mapped", True):
                    cur.execute(
                        "INSERT INTO cell_mappings (created_at, uuid, name, "
                        "transport_url, database_connection, disabled) "
                        "VALUES (NOW(), %s, %s, %s, %s, %s)",
                        (spec["uuid"], spec.get("name"),
                         spec.get("transport_url",
                                  "rabbit://guest:guest@mq-%s:5672/" % token),
                         self.cell_url(token), spec.get("disabled", 0)))
                self._fill_cell(index, token, spec)
            for host, token in host_mappings:
                cur.execute(
                    "INSERT INTO host_mappings (created_at, cell_id, host) "
                    "SELECT NOW(), id, %s FROM cell_mappings WHERE uuid = %s",
                    (host, self.cells[token]["uuid"]))
            for row in instance_mappings:
                instance, token = row[0], row[1]
                self.known.add(instance)
                cur.execute(
                    "INSERT INTO instance_mappings (created_at, "
                    "instance_uuid, cell_id, project_id, user_id, "
                    "queued_for_delete) VALUES (NOW(), %s, (SELECT id FROM "
                    "cell_mappings WHERE uuid = %s), 'p', 'u', 0)",
                    (instance, CELL0 if token == "cell0" else
                     self.cells[token]["uuid"] if token else None))

    def cell_url(self, token):
        spec = self.cells.get(token, {})
        if spec.get("template"):
            return spec["template"]
        url = db_url(self.dbs[token])
        if spec.get("password"):
            # A real account with that password, so the cell stays usable.
            with server_connection() as conn:
                cur = conn.cursor()
                cur.execute("CREATE USER IF NOT EXISTS 'nmt_pw'@'%%' "
                            "IDENTIFIED BY %s", (spec["password"],))
                cur.execute("GRANT ALL ON *.* TO 'nmt_pw'@'%'")
            url = url.replace("root@", "nmt_pw:%s@" % spec["password"], 1)
        return url

    def _fill_cell(self, index, token, spec):
        if not spec.get("db", True):
            return
        with server_connection(self.dbs[token]) as conn:
            cur = conn.cursor()
            for n, (host, deleted, mapped) in enumerate(spec.get("nodes", ())):
                node_uuid = "cccc%04d-0000-0000-0000-%012d" % (index, n + 1)
                self.known.add(node_uuid)
                cur.execute(
                    "INSERT INTO compute_nodes (created_at, vcpus, memory_mb,"
                    " local_gb, vcpus_used, memory_mb_used, local_gb_used, "
                    "hypervisor_type, hypervisor_version, cpu_info, host, "
                    "hypervisor_hostname, uuid, deleted, mapped) VALUES "
                    "('2026-01-01', 4, 4096, 40, 0, 0, 0, 'QEMU', 1, '', %s, "
                    "%s, %s, %s, %s)",
                    (host, "%s-n%d" % (host, n), node_uuid,
                     n + 1 if deleted else 0, mapped))
            for n, (host, binary, deleted) in enumerate(
                    spec.get("services", ())):
                cur.execute(
                    "INSERT INTO services (created_at, host, `binary`, topic,"
                    " report_count, disabled, deleted, version, forced_down)"
                    " VALUES ('2026-01-01', %s, %s, 'compute', 0, %s, %s, "
                    "66, 0)",
                    (host, binary, n % 2, n + 1 if deleted else 0))
            for n, row in enumerate(spec.get("instances", ())):
                instance, deleted, host, created = row[:4]
                hidden = row[4] if len(row) > 4 else 0
                self.known.add(instance)
                cur.execute(
                    "INSERT INTO instances (created_at, uuid, project_id, "
                    "user_id, host, deleted, vm_state, hidden) VALUES "
                    "(%s, %s, %s, %s, %s, %s, 'active', %s)",
                    (created, instance, "proj-%d" % (n % 3),
                     "user-%d" % (n % 2), host, n + 1 if deleted else 0,
                     hidden))

    def conf(self, tmp_path, main="cell1", transport=True):
        extra = ""
        if transport:
            extra = "[DEFAULT]\ntransport_url = " \
                "rabbit://guest:secret@mq-local:5672/\n"
        return conf_path(tmp_path, api=self.api,
                         main=self.dbs.get(main) if main else None,
                         extra=self.conf_extra, top=extra)

    # -- comparing ------------------------------------------------------
    def tokens(self):
        """Database names -> stable tokens, longest first."""
        pairs = [(self.api, "API")] + [(name, token.upper())
                                       for token, name in self.dbs.items()]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def normalize(self, text):
        for name, token in self.tokens():
            text = text.replace(name, token)
        return UUID_RE.sub(lambda m: m.group(0) if m.group(0).lower()
                           in self.known else "<new-uuid>", text)

    def state(self):
        """What a user checks after a command, with names normalized."""
        out = {}
        with server_connection(self.api) as api:
            cur = api.cursor()
            cur.execute("SELECT uuid, name, transport_url, "
                        "database_connection, disabled, created_at IS NULL, "
                        "updated_at IS NULL FROM cell_mappings")
            out["cell_mappings"] = sorted(repr(r) for r in cur.fetchall())
            cur.execute("SELECT h.host, c.uuid, h.created_at IS NULL, "
                        "h.updated_at IS NULL FROM host_mappings h JOIN "
                        "cell_mappings c ON c.id = h.cell_id")
            out["host_mappings"] = sorted(repr(r) for r in cur.fetchall())
            cur.execute("SELECT m.instance_uuid, c.uuid, m.project_id, "
                        "m.user_id, m.queued_for_delete, m.updated_at IS NULL"
                        " FROM instance_mappings m LEFT JOIN cell_mappings c "
                        "ON c.id = m.cell_id")
            out["instance_mappings"] = sorted(repr(r)
                                              for r in cur.fetchall())
        for token, name in self.dbs.items():
            if token in self.cells and not self.cells[token].get("db", True):
                continue
            with server_connection(name) as conn:
                cur = conn.cursor()
                cur.execute("SELECT uuid, host, deleted, mapped, updated_at "
                            "IS NULL FROM compute_nodes ORDER BY id")
                out[token + ".compute_nodes"] = [repr(r)
                                                 for r in cur.fetchall()]
        return {key: [self.normalize(v) for v in value]
                for key, value in out.items()}
