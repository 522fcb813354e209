"""The command categories and their actions, as nova-manage 34.0.0 has them.

This table is all the CLI needs to list categories and actions, complete
them in bash and find the module of a command, so a command's module is
imported only when that command runs. Actions are listed alphabetically,
the order nova-manage uses. nmtool's own additions are marked below.
"""

# category -> (module, one-line description, actions)
CATEGORIES = {
    "api_db": ("nmtool.commands.api_db",
               "Commands for managing the API database.",
               ["sync", "version"]),
    "cell_v2": ("nmtool.commands.cell_v2",
                "Commands for managing cells v2.",
                ["create_cell", "delete_cell", "delete_host",
                 "discover_hosts", "list_cells", "list_hosts",
                 "map_cell0", "map_cell_and_hosts", "map_instances",
                 "simple_cell_setup", "update_cell", "verify_instance"]),
    "db": ("nmtool.commands.db",
           "Commands for managing the main (cell) database.",
           ["archive_deleted_rows", "ironic_compute_node_move",
            "ironic_flavor_migration", "null_instance_uuid_scan",
            "online_data_migrations", "purge", "status", "sync",
            "version"]),
    "placement": ("nmtool.commands.placement",
                  "Commands for managing placement resources.",
                  ["audit", "heal_allocations", "sync_aggregates"]),
    "libvirt": ("nmtool.commands.libvirt",
                "Commands for managing libvirt instances.",
                ["get_machine_type", "list_unset_machine_type",
                 "update_machine_type"]),
    "volume_attachment": ("nmtool.commands.volume_attachment",
                          "Commands for managing volume attachments.",
                          ["get_connector", "refresh", "show"]),
    "image_property": ("nmtool.commands.image_property",
                       "Commands for managing image properties of "
                       "instances.",
                       ["set", "show"]),
    "limits": ("nmtool.commands.limits",
               "Commands for managing unified limits.",
               ["migrate_to_unified_limits"]),
    # nmtool's own, after nova's.
    "sql": ("nmtool.commands.sql",
            "The SQL statements nmtool runs, listed and shown by name.",
            ["list", "show"]),
}

# What nmtool adds to nova-manage's commands. Listings that scripts may
# read as nova-manage's (bash-completion) leave these out, and help shows
# them apart from nova's.
NMTOOL_CATEGORIES = ("sql",)
NMTOOL_ACTIONS = {"db": ("status",)}


def is_nmtool_only(category, action=None):
    return category in NMTOOL_CATEGORIES or \
        action in NMTOOL_ACTIONS.get(category, ())


def nova_categories():
    return [name for name in CATEGORIES if name not in NMTOOL_CATEGORIES]


def nova_actions(category):
    return [action for action in CATEGORIES[category][2]
            if not is_nmtool_only(category, action)]


# Actions that live in a module of their own rather than in their
# category's module (large commands, each with one job).
ACTION_MODULES = {
    ("db", "online_data_migrations"): "nmtool.commands.db_online_migrations",
    ("db", "null_instance_uuid_scan"): "nmtool.commands.db_null_uuid_scan",
    ("db", "ironic_flavor_migration"): "nmtool.commands.db_ironic",
    ("db", "ironic_compute_node_move"): "nmtool.commands.db_ironic",
    ("db", "status"): "nmtool.commands.db_status",
}

# Categories handled by the CLI itself, listed first as nova-manage does.
BUILTIN = ["version", "bash-completion"]
