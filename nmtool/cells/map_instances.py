"""map_instances: give every instance of a cell its instance mapping.

nova pages through the cell 50 instances at a time, each page a new
sorted query, and inserts the mappings one by one. Here the cell's
instances are read oldest first with one streamed query, and each chunk
of them becomes one multi-row INSERT in the API database, in the same
transaction that moves the resume marker forward. The marker is nova's
own (a mapping row under the project "INSTANCE_MIGRATION_MARKER" holding
the last instance's uuid with spaces for dashes), so nova-manage and
nmtool continue each other's runs, and a killed run resumes where its
last chunk committed.
"""
from nmtool.db.statements import sql, utc_now
from nmtool.errors import NmtoolError
from nmtool.kernel import mapping_rows

MARKER_PROJECT = "INSTANCE_MIGRATION_MARKER"
CHUNK = 5000
# Besides its mappings a chunk's transaction deletes the old marker and
# inserts the new one.
MARKER_ROWS = 2
NO_LIMIT = 2 ** 62


def _start(api_db, cell_db, reset):
    """The marker row to replace and the query that starts after it."""
    markers = api_db.query(sql("instance_mappings.markers"))
    marker_id = markers[0][0] if markers else None
    marker = markers[0][1].replace(" ", "-") if markers else None
    if marker is None or reset:
        return marker_id, "cell_hosts.instances_from_start", {}
    position = cell_db.query(sql("cell_hosts.marker_position"),
                             {"uuid": marker})
    if not position:
        # nova has already dropped the marker row when it fails here, so
        # the next run starts from the beginning; so does nmtool.
        api_db.execute(sql("instance_mappings.delete_marker"),
                       {"id": marker_id})
        raise NmtoolError("Marker %s could not be found." % marker)
    created_at, instance_id = position[0]
    if created_at is None:
        return marker_id, "cell_hosts.instances_after_id", {"id": instance_id}
    return marker_id, "cell_hosts.instances_after", {
        "created_at": created_at, "id": instance_id}


def map_instances(api_db, cell_db, cell_id, max_count=None, reset=False,
                  meter=None):
    """Map up to max_count instances (all when None) after the marker.

    Returns True when instances are left to map (a marker is stored), as
    nova's exit code 1 says. meter (nmtool.ui.progress.Progress) counts
    the instances read; when it asks to stop (--stop-file, a signal),
    the run ends before the next chunk, its marker stored, with True.
    """
    limit = max_count or NO_LIMIT
    marker_id, query, params = _start(api_db, cell_db, reset)
    params["limit"] = limit
    seen = 0
    stopped = False
    for rows in cell_db.stream(sql(query), params, chunk=chunk_size(api_db)):
        if meter is not None and meter.stop_asked():
            stopped = True
            break
        seen += len(rows)
        uuids = [row[0] for row in rows]
        mapped = {uuid.lower() for (uuid,) in api_db.query(
            sql("instance_mappings.mapped_among"), {"uuids": uuids})}
        new = mapping_rows(rows, mapped, cell_id, utc_now())

        def write(db, new=new, last=uuids[-1]):
            if new:
                db.execute_many(sql("instance_mappings.insert"), new)
            if marker_id is not None:
                db.execute(sql("instance_mappings.delete_marker"),
                           {"id": marker_id})
            return db.execute(sql("instance_mappings.insert_marker"), {
                "marker": last.replace("-", " ")}).lastrowid
        marker_id = api_db.run_in_transaction(write)
        if meter is not None:
            meter.add(len(rows))
    more = stopped or max_count is not None and seen >= limit
    if not more and marker_id is not None:
        api_db.execute(sql("instance_mappings.delete_marker"),
                       {"id": marker_id})
    return more


def chunk_size(api_db):
    """Instances per chunk: CHUNK, or fewer where a Galera cluster's
    wsrep_max_ws_rows would refuse a chunk's transaction (error 1180)."""
    limit = api_db.write_set_rows()
    if limit is None:
        return CHUNK
    return max(1, min(CHUNK, limit - MARKER_ROWS))


def count_instances(cell_db):
    """The cell's instances, deleted ones too (what map_instances reads)."""
    return cell_db.scalar(sql("cell_hosts.count_instances"))
