"""db purge on shadow tables whose ids are not dense: every chunk is one
DELETE of an id range, sized from the ids seen so far, so a table with
gaps, sparse stretches and far-apart clusters of ids is purged whole,
with no chunk above 5,000 rows and few wasted statements, --before and
--all alike."""
import json

from conftest import run_nmtool, server_connection

SHADOW = "shadow_instance_system_metadata"
OLD, NEW = "2020-01-01 00:00:00", "2026-01-01 00:00:00"


def fill(main):
    """A dense stretch, a sparse one, a far cluster, and a single row at
    the very top; old and new rows mixed. Returns (old, new) counts."""
    stretches = [
        "SELECT seq FROM seq_1_to_12000",
        "SELECT seq FROM seq_12001_to_600000_step_37",
        "SELECT seq FROM seq_10000000_to_10007000",
        "SELECT 2000000000 AS seq",
    ]
    with server_connection(main) as conn:
        cur = conn.cursor()
        for stretch in stretches:
            # New where the id is a multiple of 3, old otherwise.
            cur.execute(
                "INSERT INTO %s (id, created_at, deleted_at, instance_uuid, "
                "`key`, value, deleted) SELECT seq, %%s, IF(MOD(seq, 3) = 0, "
                "%%s, %%s), 'i', 'k', 'v', seq FROM (%s) AS ids"
                % (SHADOW, stretch), (OLD, NEW, OLD))
        cur.execute("SELECT SUM(deleted_at < '2025-01-01'), "
                    "SUM(deleted_at >= '2025-01-01') FROM %s" % SHADOW)
        old, new = cur.fetchone()
    return int(old), int(new)


def chunks(log):
    """(rows) of each chunk DELETE the SQL log recorded."""
    with open(log) as handle:
        entries = [json.loads(line) for line in handle]
    return [e["rows"] for e in entries
            if (e["name"] or "").startswith("purge.chunk_")]


def left(main):
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*), SUM(deleted_at < '2025-01-01') "
                    "FROM %s" % SHADOW)
        count, old = cur.fetchone()
    return int(count), int(old or 0)


def test_purge_of_sparse_ids_in_id_ranges(synced, conf_file, tmp_path):
    main = synced("main")
    conf = conf_file(main=main)
    old, new = fill(main)
    assert old > 20000 and new > 10000

    log = tmp_path / "before.jsonl"
    result = run_nmtool("--config-file", conf, "--sql-log", str(log),
                        "db", "purge", "--before", "2025-01-01", "--verbose")
    assert result.rc == 0, result
    assert "DB: Deleted %d rows from %s based on timestamp column " \
        "deleted_at\n" % (old, SHADOW) in result.out
    assert left(main) == (new, 0)
    sizes = chunks(log)
    assert max(sizes) <= 5000 and sum(sizes) == old
    # Whole chunks but for the ranges where the ids thin out or end.
    assert len(sizes) <= old // 5000 + 12, sizes

    log = tmp_path / "all.jsonl"
    result = run_nmtool("--config-file", conf, "--sql-log", str(log),
                        "db", "purge", "--all")
    assert result.rc == 0, result
    assert left(main) == (0, 0)
    sizes = chunks(log)
    assert max(sizes) <= 5000 and sum(sizes) == new
    assert len(sizes) <= new // 5000 + 12, sizes
