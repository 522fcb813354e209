"""The rules nova-manage applies to a stored libvirt machine type.

Without a compute host to ask, nova checks a new machine type against a
fixed list of patterns of the types libvirt's driver defaults to and
their versioned forms. An update must stay within the patterns the old
type matched (so no pc -> q35, no alias <-> versioned type) and may not
lower the version. The patterns are nova's behaviour, including their
quirks: versioned patterns are anchored only at the start, and their "."
matches any character.
"""
import collections
import functools
import json
import logging
import re

from nmtool.cells.instances import save_system_metadata, \
    system_metadata_dict
from nmtool.db.statements import sql
from nmtool.errors import DatabaseError, Refused
from nmtool.maintenance import image_props

LOG = logging.getLogger(__name__)

SUPPORTED_PATTERNS = (
    # The default types of nova's libvirt driver.
    r"^pc$",
    r"^q35$",
    r"^virt$",
    r"^s390-ccw-virtio$",
    # Their versioned types.
    r"^pc-\d+.\d+",
    r"^pc-i440fx-\d+.\d+",
    r"^pc-q35-\d+.\d+",
    r"^virt-\d+.\d+",
    r"^s390-ccw-virtio-\d+.\d+",
    # RHEL's versioned pc-i440fx and pc-q35 types.
    r"^pc-i440fx-rhel\d.\d+.\d+",
    r"^pc-q35-rhel\d.\d+.\d+",
)

# x.y or x.y.z at the end of a machine type.
_VERSION = r"\d+\.\d+$|\d+\.\d+\.\d+$"

# vm_states in which the stored machine type may change.
UPDATABLE_VM_STATES = ("stopped", "shelved", "shelved_offloaded")


class UnsupportedMachineType(Refused):
    exit_code = 5

    def __init__(self, machine_type):
        super().__init__("Machine type %s is not supported." % machine_type)


class InvalidMachineTypeUpdate(Refused):
    exit_code = 4

    def __init__(self, existing, machine_type):
        super().__init__("Cannot update machine type %s to %s."
                         % (existing, machine_type))


class InvalidVmState(Refused):
    exit_code = 3

    def __init__(self, instance_uuid, vm_state):
        super().__init__(
            "Instance %s in vm_state %s. Cannot update machine type. while "
            "the instance is in this state." % (instance_uuid, vm_state))


def check_vm_state(instance_uuid, vm_state):
    if vm_state not in UPDATABLE_VM_STATES:
        raise InvalidVmState(instance_uuid, vm_state)


def check_supported(machine_type):
    if not any(re.match(p, machine_type) for p in SUPPORTED_PATTERNS):
        raise UnsupportedMachineType(machine_type)


def check_update(existing, machine_type):
    """Refuse a move to another family, between an alias and a versioned
    type, or to a lower version."""
    for pattern in SUPPORTED_PATTERNS:
        if re.match(pattern, existing) and not re.match(pattern,
                                                        machine_type):
            raise InvalidMachineTypeUpdate(existing, machine_type)
    existing_versions = re.findall(_VERSION, existing)
    if existing_versions:
        # nova indexes the new type's versions blindly: a new type without
        # one (pc-1x2 after pc-1.2, or anything after an unsupported
        # versioned type) is an IndexError, an "unexpected error".
        new_version = re.findall(_VERSION, machine_type)[0]
        if version_to_int(new_version) < version_to_int(
                existing_versions[0]):
            raise InvalidMachineTypeUpdate(existing, machine_type)


def version_to_int(version):
    """oslo's convert_version_to_int: "5.2" -> 5002, "5.2.0" -> 5002000."""
    version = re.sub(r"(\d+)(a|alpha|b|beta|rc)\d+$", "\\1", version)
    parts = tuple(int(part) for part in version.split("."))
    return functools.reduce(lambda x, y: x * 1000 + y, parts)


def update_machine_type(instance, mtype, force=False):
    """libvirt update_machine_type: nova's checks (skipped with force),
    then the write; returns the previous machine type."""
    existing = image_props.machine_type(instance.system_metadata(),
                                        instance.image_ref)
    if existing and existing == mtype:
        return existing
    if not force:
        check_vm_state(instance.uuid, instance.vm_state)
        check_supported(mtype)
        if existing:
            check_update(existing, mtype)
    save_system_metadata(instance, {"image_hw_machine_type": mtype})
    return existing


# -- list_unset_machine_type ----------------------------------------------

# Rows read from the server at a time, and distinct metadata lists
# remembered: instances booted from one image carry the same list, so
# their answer is worked out once.
CHUNK = 1000
CACHE_SIZE = 10000


class CellScan(collections.namedtuple("CellScan", "uuids error")):
    """One cell's instances without a machine type, in id order, and the
    name of the exception nova would gather for a failing cell (else
    None)."""


def scan_cells(open_db, cells, jobs=1):
    """libvirt list_unset_machine_type: a CellScan of each cell, in cell
    order. open_db(cell) opens a cell's database. One at a time, a cell
    is read only once the ones before it were fine, as in nova-manage;
    with jobs > 1 all are read at once, each on its own connection, and
    the caller still meets the results in cell order."""
    if jobs == 1 or len(cells) < 2:
        return (_scan_cell(open_db, cell) for cell in cells)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(jobs, len(cells))) as pool:
        futures = [pool.submit(_scan_cell, open_db, cell) for cell in cells]
    return (future.result() for future in futures)


class _Verdicts(object):
    """machine_type() of (metadata text, image_ref), each distinct pair
    worked out once; a pair whose properties nova refuses keeps raising
    the same error."""

    def __init__(self):
        self._known = {}

    def machine_type(self, text, image_ref):
        key = (text, image_ref)
        verdict = self._known.get(key)
        if verdict is None:
            try:
                verdict = (image_props.machine_type(
                    system_metadata_dict(_pairs(text)), image_ref), None)
            except (image_props.PropertyValueError,
                    image_props.PropertyInvalid) as exc:
                verdict = (None, exc)
            if len(self._known) >= CACHE_SIZE:
                self._known.clear()
            self._known[key] = verdict
        if verdict[1] is not None:
            raise verdict[1]
        return verdict[0]


def _pairs(text):
    """The (None, key, value) rows of libvirt.unset_candidates' JSON list."""
    if text is None:
        return []
    try:
        pairs = json.loads("[" + text + "]")
    except ValueError:
        raise DatabaseError("The system metadata read back for an instance "
                            "is not the JSON list asked for")
    return [(None, key, value) for key, value in pairs]


def _scan_cell(open_db, cell):
    found = []
    verdicts = _Verdicts()
    try:
        db = open_db(cell)
        db.execute(sql("libvirt.group_concat_room"))
        for rows in db.stream(sql("libvirt.unset_candidates"), chunk=CHUNK):
            for uuid, image_ref, text in rows:
                if verdicts.machine_type(text, image_ref) is None:
                    found.append(uuid)
        return CellScan(found, None)
    except image_props.PropertyValueError:
        LOG.debug("Bad image property in cell %s", cell.identity,
                  exc_info=True)
        return CellScan(found, "ValueError")
    except image_props.PropertyInvalid:
        LOG.debug("Bad image property in cell %s", cell.identity,
                  exc_info=True)
        return CellScan(found, "Invalid")
    except DatabaseError as exc:
        LOG.error("Error gathering result from cell %s: %s", cell.uuid, exc)
        if "does not exist" in str(exc):
            return CellScan(found, "DBNonExistentDatabase")
        return CellScan(found, "DBConnectionError")
