"""The tables, columns and foreign keys of a live database, and what
archive and purge derive from them.

nova-manage walks its own models; nmtool reads information_schema so that
it works on the schema actually there. Identifiers used in SQL come only
from here, quoted by quote().
"""
from nmtool.db.statements import sql

SHADOW_PREFIX = "shadow_"

# Tables nova 34.0.0 keeps in the schema but no longer has models for; its
# archive skips them, as parents and as children alike.
REMOVED_TABLES = frozenset([
    "agent_builds", "aggregate_hosts", "aggregate_metadata", "aggregates",
    "allocations", "bw_usage_cache", "cells", "console_pools", "consoles",
    "dns_domains", "fixed_ips", "floating_ips", "instance_group_member",
    "instance_group_policy", "instance_groups", "instance_type_extra_specs",
    "instance_type_projects", "instance_types", "inventories", "key_pairs",
    "networks", "provider_fw_rules", "resource_provider_aggregates",
    "resource_providers", "security_group_default_rules", "snapshot_id_mappings",
    "snapshots", "volume_id_mappings",
])
VERSION_TABLE = "alembic_version"


def quote(name):
    """Backtick-quote an identifier read from information_schema."""
    return "`%s`" % name.replace("`", "``")


class ForeignKey:
    __slots__ = ("child", "column", "parent", "parent_column", "on_delete")

    def __init__(self, child, column, parent, parent_column,
                 on_delete="RESTRICT"):
        self.child = child
        self.column = column
        self.parent = parent
        self.parent_column = parent_column
        self.on_delete = on_delete or "RESTRICT"

    def __repr__(self):
        return "%s.%s->%s.%s" % (self.child, self.column, self.parent,
                                 self.parent_column)


class LiveSchema:
    def __init__(self, db):
        self.tables = [row[0] for row in db.query(sql("live_schema.tables"))]
        table_set = set(self.tables)
        self.columns = {}
        for table, column in db.query(sql("live_schema.columns")):
            if table in table_set:
                self.columns.setdefault(table, []).append(column)
        self.primary_keys = {}
        for table, column in db.query(sql("live_schema.primary_keys")):
            self.primary_keys.setdefault(table, []).append(column)
        self.foreign_keys = [
            ForeignKey(*(row[:4] + row[5:6]))
            for row in db.query(sql("live_schema.foreign_keys"))]

    def has_shadow(self, table):
        return SHADOW_PREFIX + table in self.columns

    def sorted_tables(self):
        """All tables, parents before children; within one level of the
        dependency graph, by name (the order SQLAlchemy's sorted_tables
        gives nova-manage)."""
        deps = {t: set() for t in self.tables}
        for fk in self.foreign_keys:
            if fk.parent != fk.child and fk.parent in deps:
                deps[fk.child].add(fk.parent)
        done, order = set(), []
        remaining = sorted(self.tables)
        while remaining:
            level = [t for t in remaining if deps[t] <= done]
            if not level:  # a cycle: take the rest by name, as SA does
                level = remaining
            order.extend(level)
            done.update(level)
            remaining = [t for t in remaining if t not in done]
        return order

    def archivable(self, table):
        return (table != VERSION_TABLE
                and not table.startswith(SHADOW_PREFIX)
                and table not in REMOVED_TABLES
                and self.has_shadow(table)
                and "deleted" in self.columns.get(table, ())
                and self.primary_keys.get(table) == ["id"])

    def archive_order(self):
        return [t for t in self.sorted_tables() if self.archivable(t)]

    def purgeable(self):
        """Shadow tables in the order purge visits them."""
        return [t for t in self.sorted_tables()
                if t.startswith(SHADOW_PREFIX) and t != VERSION_TABLE]

    def child_paths(self, table):
        """Every chain of foreign keys leading to `table`, through child
        tables that have shadow twins: [[fk], [fk, fk2], ...], deepest
        chains after their prefixes. nova-manage moves these child rows
        with their parent and counts one per chain with rows."""
        paths = []

        def walk(parent, prefix, seen):
            for fk in self.foreign_keys:
                if fk.parent != parent or fk.child in seen:
                    continue
                if (fk.child in REMOVED_TABLES or not self.has_shadow(fk.child)
                        or self.primary_keys.get(fk.child) != ["id"]):
                    continue
                path = prefix + [fk]
                paths.append(path)
                walk(fk.child, path, seen | {fk.child})

        walk(table, [], {table})
        return paths

    def shared_columns(self, table):
        """Columns in both the table and its shadow, in the table's order:
        the columns an archive copies."""
        shadow = set(self.columns.get(SHADOW_PREFIX + table, ()))
        return [c for c in self.columns[table] if c in shadow]

    def has_column(self, table, column):
        return column in self.columns.get(table, ())
