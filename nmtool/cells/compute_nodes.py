"""What nova does to a compute node just by loading it.

nova's ComputeNode object fills in allocation ratios left NULL or 0.0
(from the configured ratio, else nova's initial default) and writes them
back whenever it reads a node. The commands that read nodes in nova
(discover_hosts, map_cell_and_hosts, delete_cell, delete_host, the
ironic commands) do the same to the same nodes, so that the end state is
nova's.
"""
from nmtool.db.statements import sql

# [DEFAULT] option -> initial_* default in nova 34.0.0.
RATIOS = (("cpu", 4.0), ("ram", 1.0), ("disk", 1.0))
CHUNK = 1000


def ratio_values(conf):
    """The configured x_allocation_ratio when set (and not 0), else
    initial_x_allocation_ratio."""
    values = {}
    for kind, initial in RATIOS:
        values[kind] = (conf.get_float("DEFAULT", "%s_allocation_ratio"
                                       % kind)
                        or conf.get_float("DEFAULT", "initial_%s_allocation_"
                                          "ratio" % kind, initial))
    return values


def heal_ratios(db, conf, node_ids):
    """Fill in the unset allocation ratios of these live nodes."""
    node_ids = list(node_ids)
    values = ratio_values(conf)
    for start in range(0, len(node_ids), CHUNK):
        db.execute(sql("compute_nodes.heal_ratios"),
                   dict(values, ids=tuple(node_ids[start:start + CHUNK])))
