"""The rules nova-manage applies to a stored libvirt machine type.

Without a compute host to ask, nova checks a new machine type against a
fixed list of patterns of the types libvirt's driver defaults to and
their versioned forms. An update must stay within the patterns the old
type matched (so no pc -> q35, no alias <-> versioned type) and may not
lower the version. The patterns are nova's behaviour, including their
quirks: versioned patterns are anchored only at the start, and their "."
matches any character.
"""
import functools
import re

from nmtool.errors import Refused

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
