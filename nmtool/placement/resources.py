"""What an instance's flavor asks of Placement, as nova 34.0.0 computes it
(scheduler.utils.ResourceRequest.from_request_spec, then
merged_resources()), and the allocation-candidates query for ports.

Flavor: the extra specs `resources[$S]:RC = N` (standard or CUSTOM_
classes, non-negative integers; anything else ignored), the CPU pinning
policy (hw:cpu_policy dedicated -> PCPU = vcpus; mixed -> PCPU = the
dedicated or realtime mask, VCPU = the rest; an isolated emulator thread
adds one PCPU), then VCPU (unless VCPU or PCPU came from above),
MEMORY_MB, DISK_GB = ephemeral + ceil(swap / 1024) + root (root left out
for boot from volume) unless the extra specs set them, memory encryption
(one MEM_ENCRYPTION_CONTEXT) and persistent memory (one
CUSTOM_PMEM_NAMESPACE_<LABEL> per label). Zero amounts are dropped. The
key order of the result is nova's, which shows in --dry-run output.
"""
import math
import re

STANDARD_CLASSES = frozenset((
    "VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF",
    "NUMA_SOCKET", "NUMA_CORE", "NUMA_THREAD", "NUMA_MEMORY_MB",
    "IPV4_ADDRESS", "VGPU", "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU",
    "MEM_ENCRYPTION_CONTEXT", "FPGA", "PGPU",
    "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"))

_SPEC_KEY = re.compile(r"^(resources|trait)([a-zA-Z0-9_-]{1,64})?:(.*)$")
_TRUE = ("1", "t", "true", "on", "y", "yes")

# nova's [scheduler] max_placement_results default
MAX_PLACEMENT_RESULTS = 1000


class InvalidFlavor(Exception):
    """A CPU mask nova would refuse (nova-manage crashes on it)."""


def parse_cpu_spec(spec):
    """"1-4,^3,6" -> {1, 2, 4, 6} (nova's hardware.parse_cpu_spec)."""
    wanted, rejected = set(), set()
    for rule in spec.split(","):
        rule = rule.strip()
        if not rule:
            continue
        parts = rule.split("-", 1)
        try:
            if len(parts) > 1:
                reject = parts[0].startswith("^")
                start = int(parts[0].lstrip("^").strip())
                end = int(parts[1].strip())
                if start > end:
                    raise ValueError(rule)
                (rejected if reject else wanted).update(range(start, end + 1))
            elif rule.startswith("^"):
                rejected.add(int(rule[1:].strip()))
            else:
                wanted.add(int(rule))
        except ValueError:
            raise InvalidFlavor("Invalid range expression %r" % rule)
    return wanted - rejected


def _mask(mask, vcpus):
    if mask.strip().startswith("^"):
        return parse_cpu_spec("0-%d,%s" % (vcpus - 1, mask))
    return parse_cpu_spec(mask)


class _Groups:
    """Request groups by suffix (None = unsuffixed), in creation order."""

    def __init__(self):
        self.groups = {}

    def group(self, suffix):
        return self.groups.setdefault(suffix, {})

    def add(self, rc, amount, suffix=None):
        group = self.group(suffix)
        if not (rc.startswith("CUSTOM_") or rc in STANDARD_CLASSES):
            return
        try:
            amount = int(amount)
        except (TypeError, ValueError):
            return
        if amount < 0:
            return
        group[rc] = amount

    def merged(self):
        result = {}
        for resources in self.groups.values():
            for rc, amount in resources.items():
                result[rc] = result.get(rc, 0) + amount
        return result


def flavor_resources(flavor, is_bfv):
    """{resource class: amount} for a flavor (a dict with vcpus,
    memory_mb, root_gb, ephemeral_gb, swap, extra_specs)."""
    specs = flavor.get("extra_specs") or {}
    vcpus = flavor.get("vcpus") or 0
    groups = _Groups()
    for key, value in specs.items():
        if key == "group_policy":
            continue
        match = _SPEC_KEY.match(key)
        if not match:
            continue
        prefix, suffix, name = match.groups()
        if prefix == "resources":
            groups.add(name, value, suffix)
        else:
            groups.group(suffix)  # a trait still creates its group

    _pinning(specs, vcpus, groups)

    merged = groups.merged()
    if "VCPU" not in merged and "PCPU" not in merged:
        groups.add("VCPU", vcpus)
    if "MEMORY_MB" not in merged:
        groups.add("MEMORY_MB", flavor.get("memory_mb") or 0)
    if "DISK_GB" not in merged:
        disk = (flavor.get("ephemeral_gb") or 0) + int(
            math.ceil((flavor.get("swap") or 0) / 1024.0))
        if not is_bfv:
            disk += flavor.get("root_gb") or 0
        if disk:
            groups.add("DISK_GB", disk)
    if str(specs.get("hw:mem_encryption", "")).lower() in _TRUE:
        groups.add("MEM_ENCRYPTION_CONTEXT", 1)
    labels = [label.strip() for label in str(specs.get("hw:pmem") or "")
              .split(",") if label.strip()]
    counts = {}
    for label in labels:
        # os-resource-classes' rule: each run of other characters is one
        # "_" (so "a--b" is A_B), and only then upper case.
        rc = "CUSTOM_" + re.sub(r"[^0-9A-Za-z]+", "_",
                                "PMEM_NAMESPACE_" + label).upper()
        counts[rc] = counts.get(rc, 0) + 1
    for rc, count in counts.items():
        groups.add(rc, count)
    return {rc: amount for rc, amount in groups.merged().items() if amount}


def _pinning(specs, vcpus, groups):
    policy = specs.get("hw:cpu_policy")
    if policy not in ("dedicated", "mixed"):
        return
    if policy == "dedicated":
        pcpus = vcpus
    else:
        dedicated = specs.get("hw:cpu_dedicated_mask")
        if dedicated:
            cpus = _mask(dedicated, vcpus)
        elif str(specs.get("hw:cpu_realtime", "")).lower() in _TRUE:
            mask = specs.get("hw:cpu_realtime_mask")
            cpus = _mask(mask, vcpus) if mask else set(range(vcpus))
        else:
            cpus = set()
        pcpus = len(cpus)
        groups.add("VCPU", vcpus - pcpus)
    if specs.get("hw:emulator_threads_policy") == "isolate":
        pcpus += 1
    groups.add("PCPU", pcpus)


def candidates_query(groups, same_subtree, group_policy, in_tree):
    """The query string of GET /allocation_candidates for port request
    groups, as nova builds it: groups [(suffix, resources, required)],
    each restricted to the compute node's tree; parameters sorted."""
    from urllib.parse import urlencode
    params = [("limit", MAX_PLACEMENT_RESULTS)]
    if group_policy is not None:
        params.append(("group_policy", group_policy))
    for subtree in same_subtree:
        params.append(("same_subtree", ",".join(sorted(subtree))))
    for suffix, resources, required in groups:
        resources = {rc: n for rc, n in resources.items() if n != 0}
        params.append(("resources%s" % suffix, ",".join(sorted(
            "%s:%s" % (rc, n) for rc, n in resources.items()))))
        if required:
            params.append(("required%s" % suffix, ",".join(sorted(required))))
        params.append(("in_tree%s" % suffix, in_tree))
    return urlencode(sorted(params, key=lambda p: (p[0], str(p[1]))))
