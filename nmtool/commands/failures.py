"""The one path from an instance command's error to what nova-manage
prints and the exit code it returns (libvirt, image_property,
volume_attachment): a failure it expects (nmtool.errors.Refused) is
printed as it is, with its own code; anything else is nova-manage's
"Unexpected error" line and exit 1, its trace in the debug log."""
import logging

from nmtool.errors import Refused

LOG = logging.getLogger(__name__)

UNEXPECTED = "Unexpected error, see nova-manage.log for the full trace: %s"


def failure(out, exc, trailing=" "):
    """Print exc as nova-manage would (on out) and return the exit code.
    trailing: what follows the message of an unexpected error (nova-manage
    ends most of them with a space)."""
    if isinstance(exc, Refused):
        out.message(str(exc))
        return exc.exit_code
    LOG.debug("Unexpected error", exc_info=exc)
    out.message(UNEXPECTED % exc + trailing)
    return 1
