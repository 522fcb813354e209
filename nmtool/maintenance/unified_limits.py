"""limits migrate_to_unified_limits: copy legacy quota limits to Keystone.

What nova-manage 34.0.0 does, step by step:

1. The legacy defaults: for every quota resource nova knows, the API
   database's quota class 'default' if it has the resource, else the
   [quota] option (with the DbQuotaDriver; the NoopQuotaDriver makes every
   default -1). The four nova-network leftovers are dropped.
2. Registered limits: every default Keystone does not have yet (looked up
   in the region, whatever the service) is created for the service named
   'nova', under its unified-limit name; cores also gives class:PCPU.
3. With --project-id: the project's own limits (main database rows, then
   the API database's over them) become project limits the same way.
4. The scan: the resource classes requested by every flavor of the API
   database and (unless --no-embedded-flavor-scan) by the flavor stored
   with every live instance of every cell, plus DISK_GB, are checked
   against the service's registered limits; any without one makes the
   command exit 3.

The verbose lines are given to `say`, the warnings and the table to
`warn`; both print as nova-manage prints (or not at all).
"""
import collections
import json
import textwrap

from nmtool.db.statements import sql
from nmtool.errors import NmtoolError

# (legacy resource, its [quota] option) in the order nova registers them;
# None: no option, the default is -1.
QUOTA_RESOURCES = (
    ("cores", "cores"),
    ("injected_files", "injected_files"),
    ("injected_file_content_bytes", "injected_file_content_bytes"),
    ("injected_file_path_bytes", "injected_file_path_length"),
    ("instances", "instances"),
    ("key_pairs", "key_pairs"),
    ("metadata_items", "metadata_items"),
    ("ram", "ram"),
    ("server_groups", "server_groups"),
    ("server_group_members", "server_group_members"),
    ("fixed_ips", None),
    ("floating_ips", None),
    ("security_groups", None),
    ("security_group_rules", None),
)

# nova's own defaults of the [quota] options
QUOTA_OPTION_DEFAULTS = {
    "instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128,
    "injected_files": 5, "injected_file_content_bytes": 10240,
    "injected_file_path_length": 255, "key_pairs": 100, "server_groups": 10,
    "server_group_members": 10,
}

OBSOLETE = ("fixed_ips", "floating_ips", "security_groups",
            "security_group_rules")

# legacy name -> unified-limit resource name
UNIFIED_NAMES = {
    "metadata_items": "server_metadata_items",
    "injected_files": "server_injected_files",
    "injected_file_content_bytes": "server_injected_file_content_bytes",
    "injected_file_path_bytes": "server_injected_file_path_bytes",
    "key_pairs": "server_key_pairs",
    "server_groups": "server_groups",
    "server_group_members": "server_group_members",
    "instances": "servers",
    "cores": "class:VCPU",
    "ram": "class:MEMORY_MB",
}

# Legacy quotas have no PCPU limit: cores limits both kinds of CPU. A
# made-up legacy name carries the cores value to class:PCPU.
PCPU_LEGACY = "pcores"
PCPU_UNIFIED = "class:PCPU"

DB_DRIVER = "nova.quota.DbQuotaDriver"
NOOP_DRIVER = "nova.quota.NoopQuotaDriver"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DATABASE = 2
EXIT_MISSING = 3

DATABASE_MESSAGE = (
    "Failed to connect to the database so aborting this migration attempt. "
    "Please check your config file to make sure that "
    "[api_database]/connection and [database]/connection are set and run "
    "this command again.")


class Options(collections.namedtuple(
        "Options", "project_id region_id verbose dry_run quiet "
        "scan_embedded")):
    """The command's options."""


class FlavorSpec(collections.namedtuple(
        "FlavorSpec", "flavorid name vcpus memory_mb root_gb ephemeral_gb "
        "swap extra_specs")):
    """What the scan reads of a flavor (an API one or an embedded one)."""


class FlavorRejected(Exception):
    """nova could not turn the flavor into a resource request; str() is
    nova's message."""


# -- step 1 and 3: the legacy limits ---------------------------------------

def legacy_defaults(api_db, conf):
    """{legacy resource: default} in nova's order, obsolete ones included."""
    driver = conf.get("quota", "driver") or DB_DRIVER
    if driver == NOOP_DRIVER:
        return {name: -1 for name, _ in QUOTA_RESOURCES}
    if driver != DB_DRIVER:
        raise NmtoolError(
            "[quota]/driver %s is not supported by nmtool's "
            "migrate_to_unified_limits (it reads the legacy limits of %s)"
            % (driver, DB_DRIVER))
    stored = dict(api_db.query(sql("limits.quota_class"),
                               {"class_name": "default"}))
    found = {}
    for name, option in QUOTA_RESOURCES:
        if name in stored:
            found[name] = stored[name]
        elif option is None:
            found[name] = -1
        else:
            found[name] = conf.get_int("quota", option,
                                       QUOTA_OPTION_DEFAULTS[option])
    return found


def project_quotas(main_db, api_db, project_id):
    """{legacy resource: limit} of one project: main database rows, then
    the API database's over them."""
    found = dict(main_db.query(sql("limits.project_quotas_main"),
                               {"project_id": project_id}))
    for resource, limit in api_db.query(sql("limits.project_quotas_api"),
                                        {"project_id": project_id}):
        found[resource] = limit
    return found


# -- the flavor scan ---------------------------------------------------------

_TRUE = ("1", "t", "true", "on", "y", "yes")
# the values nova accepts, in the order its messages list them
CPU_POLICIES = ("dedicated", "shared", "mixed")
THREAD_POLICIES = ("prefer", "isolate", "require")
EMULATOR_POLICIES = ("share", "isolate")


def flavor_classes(flavor):
    """The unified-limit names (class:X) of the resource classes a flavor
    requests, and the reason nova gave up on it (None when it did not)."""
    # nova strips the prefix as a set of characters; resource class names
    # are upper case, so only the prefix goes.
    names = {"class:" + key.lstrip("resources:")
             for key in flavor.extra_specs if key.startswith("resources:")}
    try:
        names |= {"class:" + rc for rc in requested_resources(flavor)}
    except FlavorRejected as exc:
        return names, "An exception was raised: %s, skipping flavor %s" % (
            exc, flavor.flavorid)
    return names, None


def requested_resources(flavor):
    """{resource class: amount} of the request nova builds from a flavor
    alone (no image, not boot from volume), after the checks nova makes
    on the way, in its order."""
    from nmtool.placement.resources import InvalidFlavor, flavor_resources
    specs = flavor.extra_specs
    policy = specs.get("hw:cpu_policy")
    if policy and policy not in CPU_POLICIES:
        raise FlavorRejected(
            "CPU policy requested from 'flavor extra specs' is invalid, "
            "given: '%s', available: '%s'." % (policy, CPU_POLICIES))
    threads = specs.get("hw:cpu_thread_policy")
    if threads and threads not in THREAD_POLICIES:
        raise FlavorRejected(
            "CPU thread policy requested from 'flavor extra specs' is "
            "invalid, given: '%s', available: '%s'." % (
                threads, THREAD_POLICIES))
    emulator = specs.get("hw:emulator_threads_policy")
    if emulator and emulator not in EMULATOR_POLICIES:
        raise FlavorRejected(
            "CPU emulator threads option requested is invalid, given: "
            "'%s', available: '%s'." % (emulator, EMULATOR_POLICIES))
    try:
        if policy == "mixed":
            _check_dedicated_mask(flavor)
        encryption = specs.get("hw:mem_encryption")
        if encryption is not None and \
                str(encryption).strip().lower() in _TRUE:
            # Without an image there is no hw_firmware_type=uefi: nova
            # refuses the request.
            raise FlavorRejected(
                "Memory encryption is requested by hw:mem_encryption extra "
                "spec in %s flavor but the image metadata doesn't have the "
                "'hw_firmware_type' property set to 'uefi'" % flavor.name)
        return flavor_resources(flavor._asdict(), is_bfv=False)
    except InvalidFlavor as exc:
        raise FlavorRejected(str(exc)) from None


def _check_dedicated_mask(flavor):
    from nmtool.placement.resources import parse_cpu_spec
    mask = flavor.extra_specs.get("hw:cpu_dedicated_mask")
    if not mask:
        return
    if mask.strip().startswith("^"):
        mask = "0-%d,%s" % (flavor.vcpus - 1, mask)
    pinned = parse_cpu_spec(mask)
    every = set(range(flavor.vcpus))
    if not pinned or not (every - pinned):
        raise FlavorRejected(
            "Mixed instance must have at least 1 pinned vCPU and 1 unpinned "
            "vCPU. See 'hw:cpu_dedicated_mask'.")
    if not pinned <= every:
        raise FlavorRejected(
            "Mixed instance dedicated vCPU(s) mask is not a subset of vCPUs "
            "in the flavor. See \"hw:cpu_dedicated_mask\"")


def api_flavors(api_db):
    """Every flavor of the API database, from one streamed query."""
    current = None
    for rows in api_db.stream(sql("limits.flavors_with_specs")):
        for (flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap,
             key, value) in rows:
            if current is None or current.flavorid != flavorid:
                if current is not None:
                    yield current
                current = FlavorSpec(flavorid, name, vcpus, memory_mb,
                                     root_gb, ephemeral_gb, swap, {})
            if key is not None:
                current.extra_specs[key] = value
    if current is not None:
        yield current


def embedded_flavor(text):
    """The current flavor of an instance_extra.flavor document."""
    data = (json.loads(text).get("cur") or {}).get("nova_object.data") or {}
    return FlavorSpec(data.get("flavorid"), data.get("name"),
                      data.get("vcpus") or 0, data.get("memory_mb") or 0,
                      data.get("root_gb") or 0, data.get("ephemeral_gb") or 0,
                      data.get("swap") or 0, data.get("extra_specs") or {})


DISTINCT_FLAVORS_KEPT = 10000


class EmbeddedScan(collections.namedtuple(
        "EmbeddedScan", "classes warnings down_cells")):
    """classes: the unified names found; warnings: nova's messages for the
    flavors it gave up on, in nova's order; down_cells: uuids of cells
    that could not be read."""


def scan_embedded(cells, open_db, project_id):
    """One streamed query per cell over its live instances' flavors."""
    classes = set()
    rejected = []
    down = []
    # Instances of one flavor store the same document: each distinct one
    # is parsed and translated once (up to a bound, for memory).
    seen = {}
    for cell in cells:
        try:
            db = open_db(cell)
            for rows in db.stream(sql("limits.embedded_flavors"),
                                  {"project_id": project_id}):
                for created_at, row_id, text in rows:
                    if not text:
                        continue
                    result = seen.get(text)
                    if result is None:
                        result = flavor_classes(embedded_flavor(text))
                        if len(seen) < DISTINCT_FLAVORS_KEPT:
                            seen[text] = result
                    found, warning = result
                    classes |= found
                    if warning:
                        rejected.append((created_at, row_id, warning))
        except NmtoolError:
            down.append(cell.uuid)
    # nova lists the instances of all cells newest first, merged.
    rejected.sort(key=lambda item: (item[0] is not None, item[0], item[1]),
                  reverse=True)
    return EmbeddedScan(classes, [w for _, _, w in rejected], down)


# -- the whole migration -----------------------------------------------------

class Migration:
    """One run; say() prints verbose lines, warn() the rest."""

    def __init__(self, options, say, warn):
        self.options = options
        self.say = say
        self.warn = warn

    def defaults(self, api_db, conf):
        self.say("Reading default limits from the Nova API database ...")
        found = legacy_defaults(api_db, conf)
        for resource in OBSOLETE:
            if resource in found:
                self.say("Skipping obsolete limit for %s ..." % resource)
                del found[resource]
        self.say("Found default limits in the database: %s ..." % (found,))
        return found

    def create_limits(self, keystone, service_id, defaults, project_quotas):
        """Steps 2 and 3; returns the exit code so far."""
        opts = self.options
        region = " in region %s" % opts.region_id if opts.region_id else ""
        code = EXIT_OK
        legacy = dict(defaults)
        if "cores" in legacy:
            legacy[PCPU_LEGACY] = legacy["cores"]
        existing = {rl.resource_name: rl.default_limit
                    for rl in keystone.registered_limits(
                        region_id=opts.region_id)}
        self.say("Found default limits in Keystone: %s ..." % (existing,))
        self.say("Creating default limits in Keystone ...")
        for resource, value in legacy.items():
            name = unified_name(resource)
            if name in existing:
                self.say("A default limit: %s = %s already exists in "
                         "Keystone, skipping ..." % (name, existing[name]))
                continue
            self.say("Creating default limit: %s = %s%s"
                     % (name, value, region))
            if opts.dry_run:
                continue
            try:
                keystone.create_registered_limit(
                    service_id, name, value, region_id=opts.region_id)
            except Exception as exc:
                print("Failed to create default limit: %s" % error_text(exc))
                code = EXIT_FAILED

        if not opts.project_id:
            return code

        self.say("Reading project limits from the Nova API database ...")
        quotas = project_quotas()
        self.say("Found project limits in the database: %s ..." % (quotas,))
        if "cores" in quotas:
            quotas[PCPU_LEGACY] = quotas["cores"]
        existing = {pl.resource_name: pl.resource_limit
                    for pl in keystone.limits(project_id=opts.project_id,
                                              region_id=opts.region_id)}
        self.say("Found project limits in Keystone: %s ..." % (existing,))
        self.say("Creating project limits in Keystone ...")
        for resource, value in quotas.items():
            name = unified_name(resource)
            if name in existing:
                self.say("A project limit: %s = %s already exists in "
                         "Keystone, skipping ..." % (name, existing[name]))
                continue
            self.say("Creating project limit: %s = %s for project %s%s"
                     % (name, value, opts.project_id, region))
            if opts.dry_run:
                continue
            try:
                keystone.create_limit(service_id, opts.project_id, name,
                                      value, region_id=opts.region_id)
            except Exception as exc:
                print("Failed to create project limit: %s" % error_text(exc))
                code = EXIT_FAILED
        return code

    def scan(self, keystone, service_id, api_db, cells, open_db):
        """Step 4; returns the exit code."""
        opts = self.options
        classes = {"class:DISK_GB"}
        self.say("Scanning flavors in API database for resource classes ...")
        for flavor in api_flavors(api_db):
            found, warning = flavor_classes(flavor)
            classes |= found
            if warning:
                self.warn(warning)
        down = None
        if opts.scan_embedded:
            self.say("Scanning%s non-deleted instances embedded flavors for "
                     "resource classes ..." % (
                         " project %s" % opts.project_id
                         if opts.project_id else ""))
            embedded = scan_embedded(cells(), open_db, opts.project_id)
            for warning in embedded.warnings:
                self.warn(warning)
            classes |= embedded.classes
            down = embedded.down_cells
        registered = {rl.resource_name: rl.default_limit
                      for rl in keystone.registered_limits(
                          service_id=service_id, region_id=opts.region_id)}
        rows = []
        missing = False
        for name in classes:
            if name in registered:
                if opts.verbose:
                    rows.append(ScanRow(name, registered[name]))
            else:
                missing = True
                rows.append(ScanRow(name, "missing"))
        if rows:
            from nmtool.ui.tables import render
            self.warn("The following resource classes were found during "
                      "the scan:\n")
            self.warn(render(["Resource", "Registered Limit"],
                             sorted(rows, key=lambda r: r.resource), "l"))
            if down:
                self.warn("\n" + textwrap.fill(
                    "NOTE: Cells %s did not respond and their data is not "
                    "included in this table." % (set(down),), width=80))
        if missing:
            self.warn("\n" + textwrap.fill(
                "WARNING: It is strongly recommended to create registered "
                "limits for resource classes missing limits in Keystone "
                "before proceeding.", width=80))
            return EXIT_MISSING
        self.warn("SUCCESS: All resource classes have registered limits "
                  "set.")
        return EXIT_OK


class ScanRow(collections.namedtuple("ScanRow", "resource limit")):
    """A line of the scan's table."""


def unified_name(legacy):
    if legacy == PCPU_LEGACY:
        return PCPU_UNIFIED
    try:
        return UNIFIED_NAMES[legacy]
    except KeyError:
        raise UnknownResource(legacy) from None


class UnknownResource(NmtoolError):
    """A stored project limit of a resource with no unified name; nova
    fails on it with the resource's repr as its message."""

    def __str__(self):
        return repr(self.args[0])


def error_text(exc):
    """An error as nova-manage prints it: Keystone's answers in
    openstacksdk's words."""
    return getattr(exc, "sdk_text", None) or str(exc)
