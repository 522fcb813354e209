"""db archive_deleted_rows and db purge, run by nova-manage 34.0.0 and by
nmtool on identical copies of generated data: same exit code, same
output, same rows left in every table (main, shadow and API)."""
import pytest

from conftest import (copy_database, db_url, run_nmtool, server_connection,
                      table_contents)
import novadata

pytestmark = pytest.mark.nova


class Deployment:
    """An API database and one or more cell databases with data."""

    def __init__(self, api, cells):
        self.api = api
        self.cells = cells  # [(name, database)], the first is [database]

    def conf(self, conf_file):
        return conf_file(api=self.api, main=self.cells[0][1])

    def contents(self):
        return {name: table_contents(name)
                for name in [self.api] + [db for _, db in self.cells]}


@pytest.fixture
def make_deployment(databases, synced):
    def make(instances=60, cells=1, seed=7, deleted_fraction=0.6):
        api = synced("api")
        cell_dbs = []
        for index in range(cells):
            name = "cell0" if cells > 1 and index == 0 else "cell%d" % (
                index or 1)
            main = synced("main")
            with server_connection(main) as m, server_connection(api) as a:
                m.autocommit(False)
                a.autocommit(False)
                uuid = "00000000-0000-0000-0000-%012d" % index
                novadata.generate(m, a, instances, deleted_fraction,
                                  seed + index, cell_uuid=uuid,
                                  id_offset=index * 100000)
                a.cursor().execute(
                    "UPDATE cell_mappings SET name = %s, "
                    "database_connection = %s WHERE uuid = %s",
                    (name, db_url(main), uuid))
                a.commit()
            cell_dbs.append((name, main))
        return Deployment(api, cell_dbs)
    return make


def twin(databases, deployment):
    """An identical copy, its cell mappings pointing at the copied cells."""
    api = databases.create("api")
    copy_database(deployment.api, api)
    cells = []
    for name, main in deployment.cells:
        copy = databases.create("main")
        copy_database(main, copy)
        with server_connection(api) as conn:
            conn.cursor().execute(
                "UPDATE cell_mappings SET database_connection = %s "
                "WHERE database_connection = %s", (db_url(copy), db_url(main)))
        cells.append((name, copy))
    return Deployment(api, cells)


def rename(contents, deployment):
    """Key contents by role (api, cell name), not database name."""
    roles = {deployment.api: "api"}
    roles.update({db: name for name, db in deployment.cells})
    return {roles[db]: tables for db, tables in contents.items()}


def without_cell_urls(contents):
    api = contents["api"]
    api["cell_mappings"] = [
        tuple(None if str(v).startswith("mysql+pymysql://") else v
              for v in row) for row in api["cell_mappings"]]
    return contents


def compare(databases, conf_file, nova_manage, deployment, *args):
    ours = twin(databases, deployment)
    theirs = deployment
    nova = nova_manage("--config-file", theirs.conf(conf_file), *args)
    mine = run_nmtool("--config-file", ours.conf(conf_file), *args)
    assert (mine.rc, mine.out) == (nova.rc, nova.out), (mine, nova)
    assert "Traceback" not in mine.err
    end_nova = without_cell_urls(rename(theirs.contents(), theirs))
    end_mine = without_cell_urls(rename(ours.contents(), ours))
    for role in end_nova:
        for table in end_nova[role]:
            assert end_mine[role][table] == end_nova[role][table], \
                (role, table)
    return mine


@pytest.mark.parametrize("args", [
    ["--verbose"],
    ["--verbose", "--max_rows", "1"],
    ["--verbose", "--max_rows", "12"],
    ["--verbose", "--max_rows", "13"],
    ["--verbose", "--max_rows", "40"],
    ["--max_rows", "25"],
    ["--verbose", "--until-complete", "--max_rows", "30"],
    ["--verbose", "--before", "2025-01-01"],
    ["--verbose", "--before", "Wed Jan  1 00:00:00 UTC 2025",
     "--until-complete", "--max_rows", "50"],
    ["--verbose", "--task-log"],
    ["--verbose", "--task-log", "--before", "2025-01-01", "--until-complete"],
    ["--verbose", "--until-complete", "--purge"],
    ["--verbose", "--before", "2000-01-01"],
], ids=lambda a: " ".join(a))
def test_archive_single_cell(args, databases, conf_file, nova_manage,
                             make_deployment):
    deployment = make_deployment()
    result = compare(databases, conf_file, nova_manage, deployment, "db",
                     "archive_deleted_rows", *args)
    assert result.rc in (0, 1)


@pytest.mark.parametrize("args", [
    ["--all-cells", "--verbose"],
    ["--all-cells", "--verbose", "--max_rows", "30"],
    ["--all-cells", "--verbose", "--until-complete", "--max_rows", "40"],
    ["--all-cells", "--verbose", "--until-complete", "--purge"],
], ids=lambda a: " ".join(a))
def test_archive_all_cells(args, databases, conf_file, nova_manage,
                           make_deployment):
    deployment = make_deployment(instances=30, cells=2)
    compare(databases, conf_file, nova_manage, deployment, "db",
            "archive_deleted_rows", *args)


@pytest.mark.parametrize("args", [
    ["--all", "--verbose"],
    ["--before", "2025-01-01", "--verbose"],
    ["--before", "2025-06-01"],
    ["--before", "2000-01-01", "--verbose"],
    ["--verbose"],
    ["--before", "not a date"],
], ids=lambda a: " ".join(a))
def test_purge_after_archive(args, databases, conf_file, nova_manage,
                             make_deployment):
    deployment = make_deployment(instances=40)
    # Archive everything first (with nova-manage) so the shadows hold rows.
    nova_manage("--config-file", deployment.conf(conf_file), "db",
                "archive_deleted_rows", "--until-complete")
    compare(databases, conf_file, nova_manage, deployment, "db", "purge",
            *args)


def test_purge_all_cells(databases, conf_file, nova_manage, make_deployment):
    deployment = make_deployment(instances=20, cells=2)
    nova_manage("--config-file", deployment.conf(conf_file), "db",
                "archive_deleted_rows", "--until-complete", "--all-cells")
    compare(databases, conf_file, nova_manage, deployment, "db", "purge",
            "--all", "--verbose", "--all-cells")


@pytest.mark.parametrize("args", [
    ["--max_rows", "-1"],
    ["--max_rows", "2147483648"],
    ["--before", "foo"],
    ["--before", "2020-02-30"],
], ids=lambda a: " ".join(a))
def test_bad_values_match_nova(args, databases, conf_file, nova_manage,
                               make_deployment):
    deployment = make_deployment(instances=5)
    before = table_contents(deployment.cells[0][1])
    result = compare(databases, conf_file, nova_manage, deployment, "db",
                     "archive_deleted_rows", *args)
    assert result.rc in (2, 4)
    assert table_contents(deployment.cells[0][1]) == before
