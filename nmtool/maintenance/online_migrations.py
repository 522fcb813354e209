"""The online data migrations of nova 34.0.0, in its order.

Each migration is a function (env, count) -> (found, done) with nova's
meaning: found is how many candidate rows it looked at (at most count),
done how many it migrated. Each works on at most `count` rows, one
transaction per batch on each database it writes, and is idempotent, so
a run killed at any moment leaves consistent databases and the next run
continues. The statements are in sql/queries/online_migrations.sql.

Where nova reads and writes a batch row by row, the migrations of uuids,
zones, ratios, user ids and compute ids read each batch with a few
statements and write it with one (write_by_id), and the interface lists
are compared from two reads a batch, so the statements of a batch do not
grow with its size; the rows they change, and how, are nova's. A
migration that finds nothing is not asked again in the same run (see
run_batch).

run() is nova-manage's driver loop: batches until nothing is migrated
(or one batch with --max-count), the per-batch lines, the totals, and
the exit code.
"""
import json
import logging
import uuid as uuidlib

from nmtool.db.statements import sql
from nmtool.db.url import format_cell_url
from nmtool.errors import NmtoolError

LOG = logging.getLogger(__name__)

DEFAULT_BATCH = 50
# The uuid nova gives the fake instance that carries the scan marker of
# fill_virtual_interface_list, and the marker interface's MAC address.
FAKE_UUID = "00000000-0000-0000-0000-000000000000"
MARKER_MAC = "ff:ff:ff:ff:ff:ff"
# Quota resources nova keeps per project even when a user id is given.
PER_PROJECT_QUOTAS = ("fixed_ips", "floating_ips", "networks")
ER_DUP_ENTRY = 1062
RATIO_KINDS = ("cpu", "ram", "disk")
# Arms per CASE statement: MariaDB tries the arms in turn for every row,
# so one statement's cost grows with the square of its arms (1,000 take
# about 40 ms, 20,000 about 3 s).
CASE_ARMS = 1000
# [DEFAULT] initial_<kind>_allocation_ratio defaults in nova 34.0.0.
INITIAL_RATIOS = {"cpu": 4.0, "ram": 1.0, "disk": 1.0}


def new_uuid():
    """A random (version 4) uuid, as oslo's generate_uuid gives."""
    return str(uuidlib.uuid4())


class Env:
    """What the migrations reach: the configuration, the main database,
    the API database and the cell databases, each opened on first use."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.conf = ctx.conf
        self._main = None
        self._api = None
        self._cells = {}
        self._ratios = None
        self.az_cache = {}
        # Migrations whose query found no row in this run (see run_batch).
        self.emptied = set()

    def main(self):
        if self._main is None:
            self._main = self.ctx.main_db()
        return self._main

    def api(self):
        if self._api is None:
            self._api = self.ctx.api_db()
        return self._api

    def cells(self):
        """(id, Cell-like row) of every mapped cell, in id order; read
        again on each call, as nova does on each batch."""
        rows = self.api().query(sql("online_migrations.cells"))
        return [CellRow(row, self.conf) for row in rows]

    def cell_db(self, cell):
        db = self._cells.get(cell.url)
        if db is None:
            db = self.ctx.database(cell.url, "database of cell %s"
                                   % cell.identity)
            self._cells[cell.url] = db
        return db

    def ratios(self):
        """The allocation ratios that replace an empty one: [DEFAULT]
        <kind>_allocation_ratio when set and not 0.0, else
        initial_<kind>_allocation_ratio. Read when first needed (nova
        reads them only when a node needs them), so a bad value fails the
        migration that needs it, not the whole command."""
        if self._ratios is None:
            ratios = {}
            for kind in RATIO_KINDS:
                value = self._float_option("%s_allocation_ratio" % kind,
                                           None)
                initial = self._float_option(
                    "initial_%s_allocation_ratio" % kind,
                    INITIAL_RATIOS[kind])
                ratios[kind] = value if value else initial
            self._ratios = ratios
        return self._ratios

    def _float_option(self, name, default):
        value = self.conf.get_float("DEFAULT", name, default)
        if value is not None and value < 0.0:
            raise NmtoolError("[DEFAULT]/%s must be >= 0.0, not %r"
                              % (name, value))
        return value


class CellRow:
    __slots__ = ("id", "uuid", "name", "url")

    def __init__(self, row, conf):
        self.id, self.uuid, self.name, url = row
        self.url = format_cell_url(url, conf.database_connection)

    @property
    def identity(self):
        return "%s(%s)" % (self.uuid, self.name) if self.name else self.uuid


def write_by_id(db, name, values, **params):
    """Give each row its own value with the named UPDATE, whose {arms}
    become one CASE arm per (id, value) pair and whose %(ids)s lists
    those ids: one statement per CASE_ARMS rows (one for nova's batches
    of 50). Returns the rows changed."""
    arm = sql("online_migrations.when_id")
    changed = 0
    for start in range(0, len(values), CASE_ARMS):
        chunk = values[start:start + CASE_ARMS]
        bound = dict(params, ids=[row_id for row_id, _ in chunk])
        arms = []
        for n, (row_id, value) in enumerate(chunk):
            arms.append(arm.format(n=n))
            bound["id_%d" % n] = row_id
            bound["value_%d" % n] = value
        changed += db.execute(sql(name).format(arms="\n".join(arms)),
                              bound).rowcount
    return changed


def _is_duplicate(exc):
    import pymysql
    return (isinstance(exc, pymysql.err.IntegrityError)
            and exc.args and exc.args[0] == ER_DUP_ENTRY)


# -- 1. quota limits --------------------------------------------------------

def migrate_quota_limits_to_api_db(env, max_count):
    """Per-project, then per-user quota limits move to the API database."""
    main = env.main()
    with main.transaction():
        projects = main.query(sql("online_migrations.main_project_quotas"),
                              {"limit": max_count})
        _copy_limits(env, [(p, r, limit, None)
                           for _, p, r, limit in projects])
        for _, project_id, resource, _ in projects:
            main.execute(sql("online_migrations.main_delete_project_quota"),
                         {"project_id": project_id, "resource": resource})
    done = len(projects)
    if done == max_count:
        return done, done
    with main.transaction():
        users = main.query(sql("online_migrations.main_user_quotas"),
                           {"limit": max_count - done})
        _copy_limits(env, [(p, r, limit, u)
                           for _, p, u, r, limit in users])
        for _, project_id, user_id, resource, _ in users:
            main.execute(sql("online_migrations.main_delete_user_quota"),
                         {"project_id": project_id, "user_id": user_id,
                          "resource": resource})
    return len(projects) + len(users), done + len(users)


def _copy_limits(env, limits):
    """All the batch's limits in one API transaction. If one is already
    there (a run stopped between the copy and the delete), nova drops the
    whole copy and goes on to delete the batch; so does this."""
    api = env.api()
    try:
        with api.transaction():
            for project_id, resource, hard_limit, user_id in limits:
                params = {"project_id": project_id, "resource": resource,
                          "hard_limit": hard_limit, "user_id": user_id}
                if user_id and resource not in PER_PROJECT_QUOTAS:
                    api.execute(sql("online_migrations.api_insert_user_quota"),
                                params)
                else:
                    api.execute(
                        sql("online_migrations.api_insert_project_quota"),
                        params)
    except Exception as exc:
        if not _is_duplicate(exc):
            raise
        LOG.debug("Quota limit already in the API database: %s", exc)


# -- 2. quota classes -------------------------------------------------------

class _ClassExists(Exception):
    pass


def migrate_quota_classes_to_api_db(env, max_count):
    main = env.main()
    api = env.api()
    with main.transaction():
        classes = main.query(sql("online_migrations.main_quota_classes"),
                             {"limit": max_count})
        try:
            with api.transaction():
                for _, class_name, resource, hard_limit in classes:
                    params = {"class_name": class_name, "resource": resource,
                              "hard_limit": hard_limit}
                    if api.query(
                            sql("online_migrations.api_quota_class_exists"),
                            params):
                        raise _ClassExists()
                    api.execute(
                        sql("online_migrations.api_insert_quota_class"),
                        params)
        except _ClassExists:
            # As nova: the batch's copies are dropped, the batch is still
            # deleted from the cell database.
            pass
        for row in classes:
            main.execute(sql("online_migrations.main_delete_quota_class"),
                         {"id": row[0]})
    return len(classes), len(classes)


# -- 3, 4, 10. uuids ----------------------------------------------------------

def _fill_uuids(env, max_count, select, update):
    def batch(db):
        rows = db.query(sql(select), {"limit": max_count})
        write_by_id(db, update, [(row_id, new_uuid()) for (row_id,) in rows])
        return len(rows)
    done = env.main().run_in_transaction(batch)
    return done, done


def migration_migrate_to_uuid(env, max_count):
    return _fill_uuids(env, max_count,
                       "online_migrations.migrations_without_uuid",
                       "online_migrations.set_migration_uuids")


def populate_uuids(env, max_count):
    return _fill_uuids(env, max_count,
                       "online_migrations.bdms_without_uuid",
                       "online_migrations.set_bdm_uuids")


def populate_dev_uuids(env, max_count):
    return _fill_uuids(env, max_count,
                       "online_migrations.pci_devices_without_uuid",
                       "online_migrations.set_pci_device_uuids")


# -- 5. availability zones ----------------------------------------------------

def populate_missing_availability_zones(env, max_count):
    def batch(db):
        rows = _read_then_lock(db, "online_migrations.instances_without_az",
                               "online_migrations.lock_instances_without_az",
                               max_count)
        _look_up_zones(env, [host for _, host in rows])
        # An empty host name gives no zone: nova then changes nothing but
        # still counts the instance.
        write_by_id(db, "online_migrations.set_instance_azs",
                    [(row_id, env.az_cache[host]) for row_id, host in rows
                     if host])
        return len(rows)
    found = env.main().run_in_transaction(batch)
    return found, found


def _read_then_lock(db, read, lock, max_count):
    """The batch nova's unordered query gives (read), locked by id (lock:
    those rows, as they are now, while still candidates), in the read's
    order."""
    found = db.query(sql(read), {"limit": max_count})
    if not found:
        return []
    locked = dict((row[0], row) for row in db.query(
        sql(lock), {"ids": [row[0] for row in found]}))
    return [locked[row[0]] for row in found if row[0] in locked]


def _look_up_zones(env, hosts):
    """Fill env.az_cache for the hosts it holds no zone for (nova's cache
    of a host's zone, kept for the whole run, looked up again while
    empty): their aggregates' zones, read in one statement, else
    [DEFAULT]/default_availability_zone."""
    wanted, seen = [], set()
    for host in hosts:
        if host and not env.az_cache.get(host) and host not in seen:
            seen.add(host)
            wanted.append(host)
    if not wanted:
        return
    default = env.conf.get("DEFAULT", "default_availability_zone", "nova")
    rows = env.api().query(sql("online_migrations.api_hosts_az"),
                           {"hosts": wanted})
    if _told_apart(wanted, rows):
        first = {}
        for host, az in rows:  # the first aggregate first
            first.setdefault(host, az)
        for host in wanted:
            env.az_cache[host] = first.get(host, default)
        return
    for host in wanted:
        found = env.api().query(sql("online_migrations.api_host_az"),
                                {"host": host})
        env.az_cache[host] = found[0][0] if found else default


def _told_apart(wanted, rows):
    """Whether the rows of api_hosts_az can be given to the hosts asked
    for by plain string equality. The server matched them by the
    column's collation, which ignores case and trailing spaces and, past
    ASCII, folds letters in ways Python cannot foresee. So: only when
    every host asked for is printable ASCII, no two of them differ only
    in case or trailing spaces, and every row's host is exactly one of
    them. Otherwise the caller asks host by host, which is exact."""
    folded = set()
    for host in wanted:
        if not all(" " <= ch <= "~" for ch in host):
            return False
        key = host.rstrip(" ").lower()
        if key in folded:
            return False
        folded.add(key)
    asked = set(wanted)
    return all(host in asked for host, _ in rows)


# -- 6. queued_for_delete -----------------------------------------------------

def populate_queued_for_delete(env, max_count):
    api = env.api()
    processed = 0
    with api.transaction():
        for cell in env.cells():
            rows = api.query(sql("online_migrations.mappings_without_qfd"),
                             {"cell_id": cell.id, "limit": max_count})
            if not rows:
                continue
            ids = dict((uuid, row_id) for row_id, uuid in rows)
            deleted = set(u for (u,) in env.cell_db(cell).query(
                sql("online_migrations.cell_deleted_instances"),
                {"uuids": list(ids)}))
            queued = [ids[u] for u in ids if u in deleted]
            live = [ids[u] for u in ids if u not in deleted]
            for value, group in ((1, queued), (0, live)):
                if group:
                    api.execute(sql("online_migrations.set_qfd"),
                                {"value": value, "ids": group})
            processed += len(rows)
            max_count -= len(rows)
            if max_count <= 0:
                break
    return processed, processed


# -- 7. empty allocation ratios -----------------------------------------------

def _has_empty_ratio(row):
    """Whether a node row (id, cpu, ram, disk, ...) has an empty (NULL or
    0.0) allocation ratio."""
    return any(value in (None, 0.0) for value in row[1:4])


def _changes_ratios(env, row):
    """Whether filling a node's empty ratios changes any: not when the
    configured value is 0.0 too, and nova's ORM then writes nothing."""
    return any(value in (None, 0.0) and value != env.ratios()[kind]
               for kind, value in zip(RATIO_KINDS, row[1:4]))


def _fill_ratios(env, db, node_ids):
    if node_ids:
        db.execute(sql("online_migrations.fill_node_ratios"),
                   dict(env.ratios(), ids=sorted(node_ids)))


def migrate_empty_ratio(env, max_count):
    def batch(db):
        rows = db.query(sql("online_migrations.nodes_with_empty_ratio"),
                        {"limit": max_count})
        _fill_ratios(env, db, [row[0] for row in rows
                               if _changes_ratios(env, row)])
        return len(rows)
    found = env.main().run_in_transaction(batch)
    return found, found


# -- 8. virtual interface lists ---------------------------------------------

def fill_virtual_interface_list(env, max_count):
    """Rebuild the virtual_interfaces rows of instances whose list is
    shorter than, or ordered differently from, their network info cache
    (pre-Newton instances). Instances are scanned in (created_at, id)
    order, cell by cell, from a marker nova keeps in the cell database;
    found counts the instances compared, done those rebuilt."""
    count_all = count_hit = 0
    env.api()  # nova opens the API database first, and fails without it
    for cell in env.cells():
        if count_all == max_count:
            break
        db = env.cell_db(cell)
        instances = _instances_after_marker(db, max_count - count_all)
        uuids = [inst_uuid for _, inst_uuid in instances
                 if inst_uuid != FAKE_UUID]
        caches = _cached_vifs_of(db, uuids)
        compared = [inst_uuid for inst_uuid in uuids if caches[inst_uuid]]
        current = _vif_ids_of(db, compared)
        for inst_uuid in compared:
            count_all += 1
            cached = caches[inst_uuid]
            if current is not None and not _needs_rebuild(
                    current.get(inst_uuid, []), cached):
                continue
            if db.run_in_transaction(
                    lambda d: _rebuild_vifs(d, inst_uuid, cached)):
                count_hit += 1
        if instances:
            db.run_in_transaction(
                lambda d: _set_marker(d, instances[-1][1]))
    return count_all, count_hit


def _instances_after_marker(db, limit):
    marker = db.query(sql("online_migrations.vif_marker"),
                      {"fake": FAKE_UUID})
    m_created = m_id = None
    if marker and marker[0][0] is not None:
        position = db.query(sql("online_migrations.marker_instance"),
                            {"uuid": marker[0][0]})
        if not position:
            raise NmtoolError("Marker %s could not be found." % marker[0][0])
        m_created, m_id = position[0]
    return db.query(sql("online_migrations.instances_after_marker"),
                    {"m_created": m_created, "m_id": m_id, "limit": limit})


def _by_instance(rows, uuids):
    """{instance uuid: [rest of its rows]} from rows whose first column
    is one of uuids, in the rows' order; None when a row names an
    instance otherwise than uuids do (its column compares case aside, so
    it could be any of them: the caller then asks instance by
    instance)."""
    grouped = dict((inst_uuid, []) for inst_uuid in uuids)
    for row in rows:
        if row[0] not in grouped:
            return None
        grouped[row[0]].append(row[1:])
    return grouped


def _cached_vifs_of(db, uuids):
    """{uuid: [(port id, mac)]} from each instance's network info cache,
    read for all of them at once; empty when there is no cache or no
    network info (nova skips those)."""
    grouped = None
    if uuids:
        grouped = _by_instance(db.query(
            sql("online_migrations.instance_info_caches"),
            {"uuids": uuids}), uuids)
    if grouped is None:
        grouped = dict((inst_uuid, [(info,) for (info,) in db.query(
            sql("online_migrations.instance_info_cache"),
            {"uuid": inst_uuid})]) for inst_uuid in uuids)
    return dict((inst_uuid, _parse_vifs(rows[0][0] if rows else None))
                for inst_uuid, rows in grouped.items())


def _parse_vifs(network_info):
    if network_info is None:
        return []
    return [(vif.get("id"), vif.get("address"))
            for vif in json.loads(network_info)]


def _vif_ids_of(db, uuids):
    """{uuid: [vif uuid]}: each instance's live interfaces in nova's
    order, read for all of them at once; None when the rows cannot be
    told apart by instance (each is then compared under lock)."""
    if not uuids:
        return {}
    grouped = _by_instance(db.query(
        sql("online_migrations.vifs_of_instances"), {"uuids": uuids}), uuids)
    if grouped is None:
        return None
    return dict((inst_uuid, [vif_uuid for (vif_uuid,) in rows])
                for inst_uuid, rows in grouped.items())


def _needs_rebuild(db_ids, cached):
    """nova rebuilds a list shorter than the cache's or ordered
    otherwise; a longer one (an interface being attached) it leaves."""
    cached_ids = [port for port, _ in cached]
    return db_ids != cached_ids and len(db_ids) <= len(cached_ids)


def _rebuild_vifs(db, inst_uuid, cached):
    """Compare and, when needed, rebuild one instance's interfaces in one
    transaction. True when rebuilt."""
    rows = db.query(sql("online_migrations.instance_vifs"),
                    {"uuid": inst_uuid})
    if not _needs_rebuild([vif_uuid for _, vif_uuid, _ in rows], cached):
        return False
    tags = {}
    for vif_id, vif_uuid, tag in rows:
        tags.setdefault(vif_uuid, tag)
        db.execute(sql("online_migrations.delete_vif"), {"id": vif_id})
    for port, mac in cached:
        db.execute(sql("online_migrations.insert_vif"),
                   {"address": "%s/%s" % (mac, port), "uuid": port,
                    "instance_uuid": inst_uuid, "tag": tags.get(port)})
    return True


def _set_marker(db, marker):
    params = {"fake": FAKE_UUID}
    db.execute(sql("online_migrations.drop_marker_vif"), params)
    if not db.query(sql("online_migrations.fake_instance_exists"), params):
        # The marker row's foreign key needs an instance: nova creates
        # one (with what an instance create brings along) and destroys it.
        if not db.query(sql("online_migrations.default_secgroup_exists")):
            db.execute(sql("online_migrations.insert_default_secgroup"))
        for step in ("insert_fake_instance", "insert_fake_info_cache",
                     "insert_fake_extra", "insert_fake_id_mapping",
                     "delete_fake_instance", "delete_fake_info_cache",
                     "delete_fake_extra", "delete_fake_id_mapping"):
            db.execute(sql("online_migrations." + step), params)
    db.execute(sql("online_migrations.insert_marker_vif"),
               {"fake": FAKE_UUID, "marker": marker,
                "address": "%s/%s" % (MARKER_MAC, FAKE_UUID)})


# -- 9. user_id of instance mappings ----------------------------------------

def populate_user_id(env, max_count):
    api = env.api()
    with api.transaction():
        cells = dict((cell.id, cell) for cell in env.cells())
        rows = api.query(sql("online_migrations.mappings_without_user"),
                         {"fake": FAKE_UUID, "limit": max_count})
        pending = {}
        by_cell = {}
        for row_id, inst_uuid, cell_id in rows:
            pending[inst_uuid] = row_id
            by_cell.setdefault(cell_id, []).append(inst_uuid)
        done = 0
        owned = []
        unmigratable = False
        for cell_id, uuids in by_cell.items():
            if cell_id is None:
                # Not scheduled to a cell yet.
                unmigratable = True
                continue
            cell = cells[cell_id]
            try:
                owners = env.cell_db(cell).query(
                    sql("online_migrations.cell_instance_users"),
                    {"uuids": uuids})
            except Exception as exc:
                LOG.warning('Encountered exception: "%s" while querying '
                            'instances from cell: %s. Continuing to the '
                            'next cell.', exc, cell.identity)
                continue
            for inst_uuid, user_id in owners:
                row_id = pending.pop(inst_uuid)
                if user_id is not None:
                    owned.append((row_id, user_id))
                done += 1
            if pending:
                unmigratable = True
            if done >= max_count:
                break
        write_by_id(api, "online_migrations.set_mapping_users", owned)
    if unmigratable:
        LOG.warning('Some instance mappings were not migratable. This may '
                    'be transient due to in-flight instance builds, or '
                    'could be due to stale data that will be cleaned up '
                    'after running "nova-manage db archive_deleted_rows '
                    '--purge".')
    return len(rows), done


# -- 11. compute_id of instances ----------------------------------------------

def populate_instance_compute_id(env, max_count):
    """nova walks the batch instance by instance: an instance without a
    node is logged and skipped; loading a node fills its empty ratios
    at once, in a transaction of its own (deleted nodes too); a node
    without a uuid cannot be loaded and fails the batch, whose instances
    are then rolled back while the ratios filled before it stay. The
    batch here reads the instances as nova does, locks them with their
    nodes' ids, reads those nodes, and writes the same outcome with at
    most two statements."""
    def batch(db):
        rows = _read_then_lock(
            db, "online_migrations.instances_without_compute_id",
            "online_migrations.lock_instances_without_compute_id", max_count)
        node_ids = sorted(set(row[4] for row in rows if row[4] is not None))
        nodes = {}
        if node_ids:
            nodes = dict((node[0], node) for node in db.query(
                sql("online_migrations.nodes_by_id"), {"ids": node_ids}))
        hits, to_fill, failed = [], set(), False
        for row_id, inst_uuid, host, node, node_id in rows:
            found = nodes.get(node_id)
            if found is None:
                LOG.error("[instance: %s] Unable to migrate instance because "
                          "host %s with node %s not found",
                          inst_uuid, host, node)
                continue
            if found[4] is None:
                # nova's ComputeNode object refuses a node without a uuid.
                failed = True
                break
            if _has_empty_ratio(found):
                env.ratios()  # a bad value fails here, as in nova
                to_fill.add(node_id)
            hits.append((row_id, node_id))
        _fill_ratios(env, db, to_fill)
        if failed:
            # Committed without the instances: nova's fills were their
            # own transactions, its instance updates are rolled back.
            return None
        write_by_id(db, "online_migrations.set_instance_compute_ids", hits)
        return len(rows), len(hits)
    outcome = env.main().run_in_transaction(batch)
    if outcome is None:
        raise NmtoolError("Field `uuid' cannot be None")
    return outcome


# -- counting, for the progress line ---------------------------------------

def _count_on(database, name, **params):
    """A count function running one named statement on the main or the
    API database."""
    def count(env):
        db = env.main() if database == "main" else env.api()
        return db.scalar(sql("online_migrations_count." + name), params)
    return count


def _count_instances_to_compare(env):
    """fill_virtual_interface_list scans each cell from its own marker."""
    total = 0
    for cell in env.cells():
        db = env.cell_db(cell)
        m_created = m_id = None
        marker = db.query(sql("online_migrations.vif_marker"),
                          {"fake": FAKE_UUID})
        if marker and marker[0][0] is not None:
            position = db.query(sql("online_migrations.marker_instance"),
                                {"uuid": marker[0][0]})
            if position:
                m_created, m_id = position[0]
        total += db.scalar(
            sql("online_migrations_count.instances_to_compare"),
            {"fake": FAKE_UUID, "m_created": m_created, "m_id": m_id})
    return total


def count_all(env, max_count=None, migrations=None):
    """The rows the run will match in all, counted before it starts (the
    progress line's total; capped by --max-count). A count that fails
    counts 0: the migration itself will then fail and say so, and the
    line is only an estimate anyway."""
    total = 0
    for migration in migrations or MIGRATIONS:
        if migration.count is None:
            continue
        try:
            total += int(migration.count(env) or 0)
        except Exception as exc:
            LOG.debug("Could not count the rows of %s: %s", migration.name,
                      exc)
    return total if max_count is None else min(total, max_count)


# -- the driver ---------------------------------------------------------------

class Migration:
    """One online migration: nova's name for it (the table's key), how
    nova-manage shows the callable when it fails, a count of the rows
    its batches will match, and whether a batch that matched no row
    means none is left (not so for fill_virtual_interface_list, whose
    count leaves out the instances it walks past)."""

    def __init__(self, fn, owner=None, count=None, empty_is_final=True):
        self.fn = fn
        self.name = fn.__name__
        self.owner = owner
        self.count = count
        self.empty_is_final = empty_is_final

    def display(self):
        if self.owner:
            module, cls = self.owner
            return "<bound method %s.%s of <class '%s.%s'>>" % (
                cls, self.name, module, cls)
        return "<function %s at 0x%x>" % (self.name, id(self.fn))


MIGRATIONS = [
    Migration(migrate_quota_limits_to_api_db,
              count=_count_on("main", "quota_limits")),
    Migration(migrate_quota_classes_to_api_db,
              count=_count_on("main", "quota_classes")),
    Migration(migration_migrate_to_uuid,
              count=_count_on("main", "migrations_without_uuid")),
    Migration(populate_uuids,
              ("nova.objects.block_device", "BlockDeviceMapping"),
              count=_count_on("main", "bdms_without_uuid")),
    Migration(populate_missing_availability_zones,
              count=_count_on("main", "instances_without_az")),
    Migration(populate_queued_for_delete,
              count=_count_on("api", "mappings_without_qfd")),
    Migration(migrate_empty_ratio,
              count=_count_on("main", "nodes_with_empty_ratio")),
    Migration(fill_virtual_interface_list,
              count=_count_instances_to_compare, empty_is_final=False),
    Migration(populate_user_id,
              count=_count_on("api", "mappings_without_user",
                              fake=FAKE_UUID)),
    Migration(populate_dev_uuids,
              ("nova.objects.pci_device", "PciDevice"),
              count=_count_on("main", "pci_devices_without_uuid")),
    Migration(populate_instance_compute_id,
              count=_count_on("main", "instances_without_compute_id")),
]


def run_batch(env, max_count, out, migrations=None, meter=None):
    """One pass over the migrations, sharing a budget of max_count rows
    migrated. Returns ({name: (found, done)}, whether one failed).
    meter (a Progress) advances by the rows each migration matched.

    nova asks every migration again on every batch. A migration whose
    query matched no row in an earlier batch of this run is not asked
    again here: it reports what nova's would, (0, 0), unless rows for it
    appeared from outside the run meanwhile, which the next run finds.
    Within a run only a migration that comes before another makes rows
    for it (the fake instance fill_virtual_interface_list creates is one
    for populate_instance_compute_id), so a migration is not counted out
    when one before it failed in that batch: succeeding later, that one
    might make rows for it. Some of these queries can use no index: the
    zone migration reads every instance to find none left (a quarter of
    a second on 100,000), the queued_for_delete one every instance
    mapping of a cell, and each batch of a long run would otherwise read
    them all again."""
    ran = 0
    failed = False
    results = {}
    for migration in migrations or MIGRATIONS:
        if migration.name in env.emptied:
            results[migration.name] = (0, 0)
            continue
        try:
            found, done = migration.fn(env, max_count - ran)
        except Exception as exc:
            message = "Error attempting to run %s" % migration.display()
            out(message)
            LOG.error("%s: %s", message, exc,
                      exc_info=LOG.isEnabledFor(logging.DEBUG))
            failed = True
            found = done = 0
        else:
            if not found and migration.empty_is_final and not failed:
                env.emptied.add(migration.name)
        if found:
            if meter is not None:
                meter.add(found)
            out("%d rows matched query %s, %d migrated"
                % (found, migration.name, done))
        results[migration.name] = (found, done)
        ran += done
        if ran >= max_count:
            break
    return results, failed


def run(env, max_count, out, migrations=None, meter=None):
    """nova-manage's loop. max_count None: batches of 50 until a batch
    migrates nothing; else one batch of max_count. Returns
    (totals {name: (found, done)}, exit code). When meter asks to stop
    (--stop-file, a signal) before a batch, the run ends there with
    exit 1, as a --max-count run with work left."""
    unlimited = max_count is None
    if unlimited:
        max_count = DEFAULT_BATCH
        out("Running batches of %d until complete" % max_count)
    totals = {}
    while True:
        if meter is not None and meter.stop_asked():
            # Stopped before any batch: the table still names them all.
            for migration in migrations or MIGRATIONS:
                totals.setdefault(migration.name, (0, 0))
            return totals, 1
        results, failed = run_batch(env, max_count, out, migrations, meter)
        ran = 0
        for name, (found, done) in results.items():
            total_found, total_done = totals.get(name, (0, 0))
            totals[name] = (total_found + found, total_done + done)
            ran += done
        if not unlimited or ran == 0:
            break
    # Unlimited: the last batch did nothing, so a failure there needs an
    # operator. With --max-count a failure is fatal only if nothing else
    # moved: other work may clear the way for the failing migration.
    if failed and (unlimited or not ran):
        return totals, 2
    return totals, 1 if ran else 0
