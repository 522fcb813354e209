"""nmtool sql list / show, and how nmtool's own commands sit beside
nova-manage's in help and completion."""
import os
import re

import pytest

from conftest import ROOT, run_nmtool

QUERIES = os.path.join(ROOT, "sql", "queries")
NOVA_CATEGORIES = ["api_db", "cell_v2", "db", "placement", "libvirt",
                   "volume_attachment", "image_property", "limits"]
NOVA_DB_ACTIONS = ["archive_deleted_rows", "ironic_compute_node_move",
                   "ironic_flavor_migration", "null_instance_uuid_scan",
                   "online_data_migrations", "purge", "sync", "version"]


def statement_names(path):
    with open(path) as handle:
        return re.findall(r"^--\s*name:\s*(\S+)", handle.read(), re.M)


def all_names():
    return {name: filename for filename in sorted(os.listdir(QUERIES))
            if filename.endswith(".sql")
            for name in statement_names(os.path.join(QUERIES, filename))}


def groups(text):
    """{heading: [(name, file), ...]} of `sql list` output."""
    out = {}
    for block in text.strip("\n").split("\n\n"):
        heading, *rows = block.split("\n")
        out[heading] = [tuple(row.split()) for row in rows]
    return out


def test_every_statement_is_listed_under_its_commands():
    result = run_nmtool("sql", "list")
    assert result.rc == 0 and result.err == ""
    listed = groups(result.out)
    names = all_names()
    seen = {name for rows in listed.values() for name, _ in rows}
    assert seen == set(names)
    for rows in listed.values():
        for name, path in rows:
            assert path == "sql/queries/" + names[name]
    # Headings are real commands, in the CLI's order.
    commands = [h for h in listed]
    assert commands[0] == "api_db sync"
    assert "(no command named for it)" not in listed, \
        "a statement in sql/queries lacks its '-- used by:' line"
    for heading in commands:
        category, action = heading.split(" ")
        assert action in run_nmtool("bash-completion", category).out.split() \
            or (category, action) in (("db", "status"),)
    archive = dict(listed["db archive_deleted_rows"])
    assert {"archive.candidates", "purge.chunk_all",
            "live_schema.columns"} <= set(archive)
    assert any(name.startswith("archive_api.") for name in archive)
    # Each statement is listed under exactly the commands that run it.
    for action in ("create_cell", "map_cell0", "simple_cell_setup"):
        assert "cell_mappings.insert" in dict(listed["cell_v2 " + action])
    for command in ("cell_v2 list_cells", "cell_v2 update_cell",
                    "db online_data_migrations"):
        assert "cell_mappings.insert" not in dict(listed[command])
    assert "schema_version.insert" not in dict(listed["api_db version"])
    assert "cell_mappings.delete" not in \
        dict(listed["db archive_deleted_rows"])
    # Fragments are pieces of statements, not statements.
    assert "archive.where_soft_deleted" not in archive


def test_list_of_one_command_or_category():
    purge = run_nmtool("sql", "list", "db", "purge")
    assert purge.rc == 0
    assert list(groups(purge.out)) == ["db purge"]
    assert ("purge.chunk_before", "sql/queries/purge.sql") in \
        groups(purge.out)["db purge"]
    db = run_nmtool("sql", "list", "db")
    assert all(h.startswith("db ") for h in groups(db.out))
    assert "db status" in groups(db.out)


@pytest.mark.parametrize("args, message", [
    (["nope"], "ERROR: unknown category 'nope'\n"),
    (["db", "nope"], "ERROR: unknown action 'nope' of db\n"),
])
def test_list_unknown_command_exits_2(args, message):
    result = run_nmtool("sql", "list", *args)
    assert (result.rc, result.out, result.err) == (2, "", message)


def test_show_prints_the_statement_as_written_with_its_comment():
    result = run_nmtool("sql", "show", "purge.chunk_before")
    assert result.rc == 0 and result.err == ""
    assert result.out == (
        "-- name: purge.chunk_before\n"
        "-- file: sql/queries/purge.sql\n"
        "-- used by: db archive_deleted_rows, db purge\n"
        "-- One chunk of rows older than the cut-off, by the table's "
        "timestamp column,\n"
        "-- in an id range after the previous chunk.\n"
        "DELETE FROM {table}\n"
        " WHERE {column} < %(before)s AND `id` > %(after)s AND `id` <= "
        "%(upto)s\n"
        " ORDER BY `id` LIMIT %(chunk)s\n")
    with open(os.path.join(QUERIES, "online_migrations.sql")) as handle:
        text = handle.read()
    shown = run_nmtool("sql", "show", "online_migrations.main_project_quotas")
    sql_part = "\n".join(line for line in shown.out.splitlines()
                         if not line.startswith("--"))
    assert sql_part.startswith("SELECT id, project_id, resource, hard_limit")
    assert sql_part + "\n" in text  # verbatim, layout included


def test_show_reindent_keeps_placeholders_and_locking_clause():
    result = run_nmtool("sql", "show", "--reindent",
                        "archive.candidates_locked")
    assert result.rc == 0
    body = [line for line in result.out.splitlines()
            if not line.startswith("--")]
    assert body[0] == "SELECT t0.`id`{extra_columns}{chain_flags}"
    assert "FROM {table} t0" in body
    assert body[-1] == "FOR UPDATE"


def test_show_unknown_name_is_one_line_exit_2():
    result = run_nmtool("sql", "show", "purge.chunk")
    assert (result.rc, result.out) == (2, "")
    assert result.err == ("ERROR: no SQL statement is named 'purge.chunk' "
                          "(did you mean purge.chunk_all, "
                          "purge.chunk_before, purge.unkeyed_all?)\n")
    far = run_nmtool("sql", "show", "zzz")
    assert far.err == ("ERROR: no SQL statement is named 'zzz' (see "
                       "'nmtool sql list')\n")


def test_every_statement_names_the_commands_that_use_it():
    categories = set(NOVA_CATEGORIES) | {"sql"}
    for filename in sorted(os.listdir(QUERIES)):
        if not filename.endswith(".sql"):
            continue
        with open(os.path.join(QUERIES, filename)) as handle:
            blocks = re.split(r"^-- (?=name:|fragment:)", handle.read(),
                              flags=re.M)[1:]
        for block in blocks:
            kind, name = block.split("\n")[0].split(": ")
            comments = re.match(r"(?:--[^\n]*\n)*", block.split("\n", 1)[1])
            users = [u.strip() for line in re.findall(
                r"^-- used by: (.*)$", comments.group(0), re.M)
                for u in line.rstrip(",").split(",")]
            if kind == "fragment":
                assert not users, name
                continue
            assert users, name
            for user in users:
                category, action = user.split(" ")
                assert category in categories, (name, user)


def test_show_prints_a_fragment_as_one():
    result = run_nmtool("sql", "show", "archive.where_soft_deleted")
    assert result.rc == 0
    assert result.out.startswith("-- fragment: archive.where_soft_deleted\n")


def test_nova_listings_are_unchanged_and_nmtool_extras_apart():
    assert run_nmtool("bash-completion").out.split() == NOVA_CATEGORIES
    assert run_nmtool("bash-completion", "db").out.split() == NOVA_DB_ACTIONS
    assert run_nmtool("bash-completion", "sql").out == "list show\n"
    top = run_nmtool("-h").out
    nova_part, _, own = top.partition("nmtool's own categories")
    assert "\n  sql " not in nova_part and "\n  sql " in own
    db = run_nmtool("db", "-h").out
    nova_actions, _, extra = db.partition("nmtool's own actions")
    # Each action is listed with its one-line description.
    listed = [line.split()[0] for line in nova_actions.splitlines()
              if line.startswith("  ")]
    assert listed == NOVA_DB_ACTIONS
    assert [line.split()[0] for line in extra.splitlines()
            if line.startswith("  ")] == ["status"]
