"""placement heal_allocations: give instances the allocations Placement
should hold for them.

Candidates are read per cell (cell0 never) in nova-manage's order, a page
at a time (--max-count, or 50), with their flavors and root block device
mappings in the same few reads. For each instance that has a node and no
task in progress:

* GET /allocations/{instance} (1.28). None: the flavor-derived resources
  on the compute node's provider are created. Allocations with another
  project or user (made before microversion 1.8) get those fixed. --force
  replaces them with the flavor-derived ones (keeping the consumer
  generation).
* Unless --skip-port-allocations, the instance's Neutron ports that ask for
  resources but have no `allocation` in their binding:profile are healed
  too: one allocation candidate in the compute node's tree (1.36) gives
  the providers; the ports are updated first, and rolled back when the
  Placement write fails.
* PUT /allocations/{instance} (1.28), unless --dry-run.

Messages and exit codes are nova-manage's. Differences, on purpose:

* --max-count runs resume where the previous one stopped (exit 1): the
  position is kept in the API database (see Marker) and dropped when a
  run reaches the end, so repeated runs walk every instance once per
  cycle instead of starting over each time.
* A run without --max-count never stops with exit 1 (nova does when it
  heals exactly 50 instances, leaving later cells alone).
* A failed Placement write always rolls the port updates back (nova does
  not when the write fails on a consumer generation conflict or a
  connection error), and the Placement answer is printed on stderr.
* Neutron's extension list is read once per run, not per port.
"""
import json

from nmtool.clients.session import ServiceError, error_text
from nmtool.db.statements import sql
from nmtool.placement_resources import InvalidFlavor, candidates_query, \
    flavor_resources

DEFAULT_BATCH = 50
CREATE, UPDATE = "create", "update"
ALLOCATION = "allocation"
PROFILE = "binding:profile"
RESOURCE_REQUEST = "resource_request"


class HealStop(Exception):
    """Ends the run: nova-manage's message (stdout) and exit code, plus an
    optional detail for stderr."""

    def __init__(self, code, message, detail=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _update_failed(consumer, error, detail=None):
    return HealStop(3, "Failed to update allocations for consumer %s. "
                       "Error: %s" % (consumer, error), detail)


class Instance:
    __slots__ = ("id", "uuid", "created_at", "host", "node", "project_id",
                 "user_id", "task_state", "image_ref", "flavor")

    def __init__(self, row):
        (self.id, self.uuid, self.created_at, self.host, self.node,
         self.project_id, self.user_id, self.task_state, self.image_ref,
         flavor) = row
        self.flavor = _flavor(flavor)

    @property
    def extra_specs(self):
        return self.flavor.get("extra_specs") or {}


def _flavor(text):
    if not text:
        return {}
    try:
        return json.loads(text)["cur"]["nova_object.data"]
    except (ValueError, KeyError, TypeError):
        return {}


# -- resume marker --------------------------------------------------------

class Marker:
    """Where the last --max-count run of a scope stopped.

    Kept as one row of the API database's instance_mappings, the way
    `cell_v2 map_instances` keeps its own: no cell, project_id
    "HEAL_ALLOCATIONS_MARKER" (":<cell uuid>" appended for --cell runs),
    user_id the cell the run stopped in, instance_uuid the last instance
    it looked at with its dashes replaced by dots (all cells) or
    underscores (--cell), so it is never read as a real mapping and the
    two scopes never collide. The row needs no schema change, survives
    any nova upgrade, and nova ignores it like map_instances' marker.
    """

    PROJECT = "HEAL_ALLOCATIONS_MARKER"

    def __init__(self, api_db, cell_uuid=None):
        self.api_db = api_db
        self.scope = self.PROJECT + (":" + cell_uuid if cell_uuid else "")
        self.sep = "_" if cell_uuid else "."

    def load(self):
        rows = self.api_db.query(sql("placement_heal.get_marker"),
                                 {"scope": self.scope})
        if not rows:
            return None
        stored, cell_uuid = rows[0]
        return cell_uuid, stored.replace(self.sep, "-")

    def save(self, cell_uuid, instance_uuid):
        def write(db):
            db.execute(sql("placement_heal.delete_marker"),
                       {"scope": self.scope})
            db.execute(sql("placement_heal.insert_marker"), {
                "scope": self.scope, "cell": cell_uuid,
                "marker": instance_uuid.replace("-", self.sep)})
        self.api_db.run_in_transaction(write)

    def clear(self):
        self.api_db.execute(sql("placement_heal.delete_marker"),
                            {"scope": self.scope})


# -- the run ----------------------------------------------------------------

class Healer:
    def __init__(self, placement, neutron, output, dry_run=False,
                 force=False):
        self.placement = placement
        self.neutron = neutron            # None: --skip-port-allocations
        self.output = output
        self.dry_run = dry_run
        self.force = force

    # one cell ------------------------------------------------------------

    def heal_cell(self, db, limit, unlimited, instance_uuid=None,
                  start_after=None, on_page=None):
        """Returns the number of instances healed in the cell. start_after:
        (created_at, id) of a resume marker."""
        nodes = {}
        healed = 0
        page = self._page(db, limit, instance_uuid, start_after)
        while page:
            self.output("Found %s candidate instances." % len(page))
            bfv = self._boot_from_volume(db, page)
            for instance in page:
                if self.heal_instance(db, instance, nodes, bfv):
                    healed += 1
            if on_page:
                on_page(page[-1].uuid)
            if (not unlimited and healed == limit) or instance_uuid:
                return healed
            last = page[-1]
            page = self._page(db, limit, None, (last.created_at, last.id))
        return healed

    def _page(self, db, limit, instance_uuid, after):
        if instance_uuid:
            rows = db.query(sql("placement_heal.one_instance"),
                            {"uuid": instance_uuid})
        elif after is None:
            rows = db.query(sql("placement_heal.first_page"),
                            {"limit": limit})
        elif after[0] is None:
            rows = db.query(sql("placement_heal.next_page_after_null"),
                            {"id": after[1], "limit": limit})
        else:
            rows = db.query(sql("placement_heal.next_page"), {
                "created_at": after[0], "id": after[1], "limit": limit})
        return [Instance(row) for row in rows]

    @staticmethod
    def _boot_from_volume(db, page):
        """uuid -> True/False for instances with a root BDM."""
        uuids = tuple(i.uuid for i in page)
        root = {}
        for uuid, destination in db.query(sql("placement_heal.root_bdms"),
                                          {"uuids": uuids}):
            root.setdefault(uuid, destination == "volume")
        return root

    # one instance --------------------------------------------------------

    def heal_instance(self, db, instance, nodes, bfv):
        out = self.output
        if instance.task_state is not None:
            out("Instance %s is undergoing a task state transition: %s"
                % (instance.uuid, instance.task_state))
            return False
        if instance.node is None:
            out("Instance %s is not on a host." % instance.uuid)
            return False
        if instance.extra_specs.get("resources:VGPU"):
            raise HealStop(8, "Healing allocation for instance %s with vGPU "
                              "resource request is not supported."
                           % instance.uuid)
        if instance.extra_specs.get("accel:device_profile"):
            raise HealStop(8, "Healing allocation for instance %s with "
                              "Cyborg device profile request is not "
                              "supported." % instance.uuid)

        current = self._current_allocations(instance)
        need = None
        allocations = current
        if not current.get("allocations"):
            need = CREATE
            allocations = self._from_flavor(db, instance, nodes, bfv)
        if (allocations.get("project_id") != instance.project_id or
                allocations.get("user_id") != instance.user_id):
            need = UPDATE
            allocations["project_id"] = instance.project_id
            allocations["user_id"] = instance.user_id
        if self.force:
            out("Force flag passed for instance %s" % instance.uuid)
            need = UPDATE
            generation = allocations["consumer_generation"]
            allocations = self._from_flavor(db, instance, nodes, bfv)
            allocations["consumer_generation"] = generation

        ports = []
        if self.neutron is not None:
            port_allocations, ports = self._ports_to_heal(db, instance, nodes)
            if port_allocations:
                need = need or UPDATE
                allocations["allocations"] = _merge(
                    allocations["allocations"], port_allocations)

        if not need:
            out("The allocation of instance %s is up-to-date. Nothing to be "
                "healed." % instance.uuid)
            return False
        if self.dry_run:
            out("[dry-run] %s allocations for instance %s: %s" % (
                "Create" if need == CREATE else "Update", instance.uuid,
                json.dumps(allocations)))
            return False
        self._update_ports(ports)
        self._put(instance, allocations, ports)
        out("Successfully %s allocations for instance %s." % (
            "created" if need == CREATE else "updated", instance.uuid))
        return True

    def _current_allocations(self, instance):
        try:
            resp = self.placement.consumer_allocations(instance.uuid)
        except ServiceError as exc:
            raise _update_failed(instance.uuid, "Allocation retrieval "
                                 "failed: %s" % exc)
        if resp.status_code >= 400:
            raise _update_failed(
                instance.uuid, "Allocation retrieval failed: Failed to "
                "retrieve allocations for consumer %s: %s"
                % (instance.uuid, resp.text))
        return resp.json()

    def _node(self, db, instance, nodes):
        # nova caches by node name only
        if instance.node not in nodes:
            rows = db.query(sql("placement_heal.compute_node"),
                            {"host": instance.host, "node": instance.node})
            if not rows:
                raise HealStop(2, "Compute host %s could not be found."
                               % instance.host)
            nodes[instance.node] = rows[0][0]
        return nodes[instance.node]

    def _from_flavor(self, db, instance, nodes, bfv):
        node = self._node(db, instance, nodes)
        is_bfv = bfv.get(instance.uuid, not instance.image_ref)
        try:
            resources = flavor_resources(instance.flavor, is_bfv)
        except InvalidFlavor as exc:
            raise _update_failed(instance.uuid, str(exc))
        return {"allocations": {node: {"resources": resources}},
                "project_id": instance.project_id,
                "user_id": instance.user_id,
                "consumer_generation": None}

    # ports ----------------------------------------------------------------

    def _ports_to_heal(self, db, instance, nodes):
        try:
            ports = self.neutron.list_ports(
                instance.uuid, ["id", RESOURCE_REQUEST, PROFILE])
            extended = self.neutron.has_extended_resource_request()
        except ServiceError as exc:
            raise HealStop(5, "Unable to query ports for instance %s: %s"
                           % (instance.uuid, exc))
        to_heal = [p for p in ports
                   if _wants_resources(p, extended)
                   and not (p.get(PROFILE) or {}).get(ALLOCATION)]
        if not to_heal:
            return {}, []
        node = self._node(db, instance, nodes)
        groups, same_subtree, per_port = [], [], {}
        for port in to_heal:
            request = port.get(RESOURCE_REQUEST) or {}
            if extended:
                port_groups = [(g["id"], g.get("resources") or {},
                                g.get("required") or [])
                               for g in request.get("request_groups", [])]
                if request.get("same_subtree"):
                    same_subtree.append(request["same_subtree"])
            else:
                port_groups = [(port["id"], request.get("resources") or {},
                                request.get("required") or [])]
            per_port[port["id"]] = [g[0] for g in port_groups]
            groups.extend(port_groups)
        query = candidates_query(
            groups, same_subtree,
            instance.extra_specs.get("group_policy", "none"), node)
        try:
            resp = self.placement.allocation_candidates(query)
        except ServiceError as exc:
            raise HealStop(3, "Unable to communicate with the Placement "
                              "API.", detail=str(exc))
        candidates = resp.json().get("allocation_requests") \
            if resp.status_code == 200 else None
        port_ids = [p["id"] for p in to_heal]
        if not candidates:
            raise _update_failed(
                instance.uuid, "Placement returned no allocation candidate "
                "to fulfill the resource request of the port(s) %s"
                % port_ids,
                detail=None if resp.status_code == 200 else
                "Placement API: %s" % error_text(resp))
        if len(candidates) > 1:
            raise _update_failed(
                instance.uuid, "Placement returned more than one possible "
                "allocation candidates to fulfill the resource request of "
                "the port(s) %s. This script does not have enough "
                "information to select the proper candidate to heal the"
                "missing allocations. A possible way to heal the"
                "allocation of this instance is to migrate it to another "
                "compute as the migration process re-creates the full "
                "allocation on the target host." % port_ids)
        chosen = candidates[0]
        mappings = chosen["mappings"]
        for port in to_heal:
            if extended:
                mapping = {group: mappings[group][0]
                           for group in per_port[port["id"]]}
            else:
                mapping = mappings[port["id"]][0]
            profile = port.get(PROFILE) or {}
            profile[ALLOCATION] = mapping
            port[PROFILE] = profile
            self.output(
                "Found a request group : resource provider mapping %s for "
                "the port %s with resource request %s attached to the "
                "instance %s" % (mapping, port["id"],
                                 port.get(RESOURCE_REQUEST), instance.uuid))
        return chosen["allocations"], to_heal

    def _update_ports(self, ports):
        done = []
        for port in ports:
            body = {"port": {PROFILE: port.get(PROFILE) or {}}}
            self.output("Updating port %s with attributes %s"
                        % (port["id"], body["port"]))
            try:
                self.neutron.update_port(port["id"], body)
            except ServiceError as exc:
                self.output("Updating port %s failed: %s" % (port["id"], exc))
                self._rollback(done)
                raise HealStop(6, "Unable to update ports with allocations "
                                  "that are about to be created in "
                                  "placement: %s. The healing of the "
                                  "instance is aborted. It is safe to try to "
                                  "heal the instance again." % exc)
            done.append(port)

    def _rollback(self, ports):
        failed, last = [], None
        for port in ports:
            profile = dict(port.get(PROFILE) or {})
            profile.pop(ALLOCATION, None)
            self.output("Rolling back port update for %s" % port["id"])
            try:
                self.neutron.update_port(port["id"],
                                         {"port": {PROFILE: profile}})
            except ServiceError as exc:
                self.output("Rolling back update for port %s failed: %s"
                            % (port["id"], exc))
                failed.append(port["id"])
                last = exc
        if failed:
            raise HealStop(
                7, "Failed to update neutron ports with allocation keys and "
                   "the automatic rollback of the previously successful port "
                   "updates also failed: %s. Make sure that the "
                   "binding:profile.allocation key of the affected ports %s "
                   "are manually cleaned in neutron according to document "
                   "https://docs.openstack.org/nova/latest/cli/"
                   "nova-manage.html#placement. If you re-run the script "
                   "without the manual fix then the missing allocation for "
                   "these ports will not be healed in placement."
                % (last, failed))

    def _put(self, instance, allocations, ports):
        """PUT the allocations; on failure roll the ports back and stop."""
        for attempt in range(4):
            try:
                resp = self.placement.put_allocations(instance.uuid,
                                                      allocations)
            except ServiceError as exc:
                self._rollback(ports)
                raise HealStop(3, "Unable to communicate with the Placement "
                                  "API.", detail=str(exc))
            if resp.status_code == 204:
                return
            detail = _error(resp)
            # a provider generation conflict is Placement-internal: retry
            if (detail[0] == "placement.concurrent_update" and
                    "consumer generation conflict" not in detail[1] and
                    attempt < 3):
                continue
            break
        self._rollback(ports)
        message = "Placement API: %s" % error_text(resp)
        if detail[0] == "placement.concurrent_update" and \
                "consumer generation conflict" in detail[1]:
            raise _update_failed(instance.uuid, detail[1], message)
        raise _update_failed(instance.uuid, "", message)


def _error(resp):
    try:
        err = resp.json()["errors"][0]
        return err.get("code", ""), err.get("detail", "")
    except (ValueError, KeyError, IndexError, TypeError):
        return "", ""


def _wants_resources(port, extended):
    request = port.get(RESOURCE_REQUEST) or {}
    if extended:
        return bool(request.get("request_groups", []))
    return bool(request)


def _merge(first, second):
    """Allocations by provider with the amounts of both added up
    (the providers' generations are not kept, as in nova)."""
    merged = {}
    for allocations in (first, second):
        for rp, allocation in allocations.items():
            resources = merged.setdefault(rp, {"resources": {}})["resources"]
            for rc, amount in allocation["resources"].items():
                resources[rc] = resources.get(rc, 0) + amount
    return merged
