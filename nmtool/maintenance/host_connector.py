"""volume_attachment get_connector: this host's connector properties, as
os-brick reports them to Cinder.

os-brick is the only source of these properties (it probes iSCSI, NVMe,
multipath and the like, some of it as root through privsep), so it is
called with nova-manage's arguments rather than imitated. It is not a
dependency of nmtool: it is there on compute hosts, where the command is
useful, and absent elsewhere.
"""
import logging
import socket

from nmtool.errors import NmtoolError

PACKAGE = "os-brick"


class MissingOsBrick(NmtoolError):
    def __init__(self, reason):
        super().__init__(
            "volume_attachment get_connector needs the %s package, which "
            "cannot be imported here (%s): run it on a compute host, or "
            "pip install %s" % (PACKAGE, reason, PACKAGE), exit_code=1)


def _connector_module():
    try:
        from os_brick.initiator import connector
    except ImportError as exc:
        raise MissingOsBrick(exc) from None
    return connector


def _default_ipv4():
    # nova's my_ip default: the source address of a UDP "connection" to a
    # TEST-NET address (nothing is sent).
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.0", 80))
            return sock.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def _root_helper(conf):
    if conf.get_bool("workarounds", "disable_rootwrap", False):
        return "sudo"
    return "sudo nova-rootwrap %s" % conf.get(
        "DEFAULT", "rootwrap_config", "/etc/nova/rootwrap.conf")


def _load_oslo_conf(conf):
    """os-brick's privsep daemon is configured through oslo.config's global
    options ([privsep_osbrick] helper_command, ...), which nova-manage has
    loaded from its config files by then: load the same files."""
    from oslo_config import cfg
    cfg.CONF([], project="nova", default_config_files=list(conf.files),
             validate_default_values=False)


def _quiet_logs():
    # nova-manage keeps these two at ERROR: their INFO and WARNING records
    # (privsep starting, initiator files absent) are routine on any host.
    for name in ("os_brick", "oslo.privsep"):
        logging.getLogger(name).setLevel(logging.ERROR)


def properties(conf):
    """The connector document; MissingOsBrick without os-brick, and any
    error os-brick raises as it is (the command reports it as nova-manage
    reports an unexpected error)."""
    connector = _connector_module()
    _quiet_logs()
    _load_oslo_conf(conf)
    block_ip = (conf.get("DEFAULT", "my_block_storage_ip")
                or conf.get("DEFAULT", "my_ip") or _default_ipv4())
    return connector.get_connector_properties(
        _root_helper(conf), block_ip,
        conf.get_bool("libvirt", "volume_use_multipath", False),
        enforce_multipath=True,
        host=conf.get("DEFAULT", "host") or socket.gethostname())
