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
* A --max-count run stops as soon as it has healed that many, even in
  the middle of a page. nova heals the rest of the page, going past the
  count; it then walks the whole cell, and the next cell's query asks for
  a negative number of rows and fails (exit 255).
* A failed Placement write always rolls the port updates back (nova does
  not when the write fails on a consumer generation conflict or a
  connection error), and the Placement answer is printed on stderr.
* Neutron's extension list is read once per run, not per port.
* Reads run a page ahead: the page's allocations with several GETs in
  flight (--readers), its ports with one Neutron call (a repeated
  device_id filter is OR-ed) when the first instance needs them.
* Writes go a page at a time: the page's instances are planned in order
  (up to where --max-count's budget ends), the ports of all that need
  healing updated, and the allocations of all written with one POST
  /allocations (1.28: each consumer's generation as read, null for a new
  one), then the lines are printed in the page's order. Whenever the
  page is not plain (a stop while planning, a port update or the POST
  failing, e.g. the 409 of an instance nova changed since it was read,
  or fewer than two writes), its ports are rolled back and its
  instances handled one at a time from the same reads, with PUT: the
  lines, the writes and where a failure stops are then nova's run's.
  The page's port updates (each port its own Neutron resource) go with
  --readers of them in flight; Neutron's update is most of a port
  heal's time, once per port for both tools.
* A run over a whole cell (no --max-count, --instance, --dry-run or
  --jobs) with many candidates per provider (CONSUMERS_PER_PROVIDER)
  first lists every provider's allocations, one GET per provider; an
  instance found in none is not read on its own: its page's POST sends
  it as a new consumer (null generation), which Placement refuses with
  409 if it has allocations by then, and the page then goes the
  one-at-a-time way, each instance read just before use.

nmtool's additions: each instance's outcome is recorded (Outcome, in a
Report) and both the --verbose lines and --format json are read from
it; --jobs heals cells at the same time (HealRun); a Progress meter
counts the instances looked at.
"""
import copy
import json

from nmtool.clients.http import ServiceError, error_text
from nmtool.clients.session import Readers
from nmtool.context import CELL0_UUID
from nmtool.db.statements import sql
from nmtool.placement.resources import InvalidFlavor, candidates_query, \
    flavor_resources

DEFAULT_BATCH = 50
# GETs in flight while a page's allocations are read
DEFAULT_READERS = 8
# A run over a cell lists every provider's allocations first (one GET per
# provider) when the cell has at least this many candidates per provider:
# the instances found in none are new consumers and need no GET of their
# own before their page's POST (which refuses any that exists by then).
CONSUMERS_PER_PROVIDER = 10
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


# -- results ------------------------------------------------------------------

CREATED, UPDATED = "created", "updated"
WOULD_CREATE, WOULD_UPDATE = "would_create", "would_update"
UP_TO_DATE, SKIPPED = "up_to_date", "skipped"
BUSY = "undergoing a task state transition: "
NOT_ON_A_HOST = "not on a host"


class Outcome:
    """What the run did with one instance: the result --format json lists
    and the line --verbose prints (in nova-manage's words) are both read
    from it. allocations: what a dry run would write; reason: why the
    instance was skipped."""
    __slots__ = ("instance_uuid", "action", "allocations", "reason")

    def __init__(self, instance_uuid, action, allocations=None, reason=None):
        self.instance_uuid = instance_uuid
        self.action = action
        # a copy: the dry run's body must not change after it is reported
        self.allocations = copy.deepcopy(allocations)
        self.reason = reason

    def line(self):
        uuid = self.instance_uuid
        if self.action in (CREATED, UPDATED):
            return "Successfully %s allocations for instance %s." % (
                self.action, uuid)
        if self.action in (WOULD_CREATE, WOULD_UPDATE):
            return "[dry-run] %s allocations for instance %s: %s" % (
                "Create" if self.action == WOULD_CREATE else "Update", uuid,
                json.dumps(self.allocations))
        if self.action == UP_TO_DATE:
            return ("The allocation of instance %s is up-to-date. Nothing "
                    "to be healed." % uuid)
        # nova ends the "not on a host" line with a full stop, and the
        # task state line with the state itself
        end = "" if self.reason.startswith(BUSY) else "."
        return "Instance %s is %s%s" % (uuid, self.reason, end)

    def document(self):
        doc = {"instance_uuid": self.instance_uuid, "action": self.action}
        if self.allocations is not None:
            doc["allocations"] = self.allocations
        if self.reason is not None:
            doc["reason"] = self.reason
        return doc


class Report:
    """Where a run puts what it finds: the outcomes, and nova-manage's
    lines as they happen. say() lines are always printed, output() lines
    only with --verbose, detail() goes to stderr as "ERROR: ..."; the
    command decides where each goes (stdout, or stderr with --format
    json)."""

    def __init__(self, say, output, detail):
        self.outcomes = []
        self.say = say
        self.output = output
        self.detail = detail

    def outcome(self, outcome):
        self.outcomes.append(outcome)
        self.output(outcome.line())

    def stop(self, stop):
        self.say(stop.message)
        if stop.detail:
            self.detail(stop.detail)


class CellReport(Report):
    """--jobs: one cell's report, kept until the cells before it have been
    printed, then replayed into the run's report in cell order."""

    def __init__(self):
        self.lines = []
        super().__init__(
            lambda text: self.lines.append(("say", text)),
            lambda text: self.lines.append(("output", text)),
            lambda text: self.lines.append(("detail", text)))

    def replay(self, into):
        for kind, text in self.lines:
            getattr(into, kind)(text)
        into.outcomes.extend(self.outcomes)


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

    def __init__(self, api_db, cell_uuid=None, read_only=False):
        self.api_db = api_db
        self.scope = self.PROJECT + (":" + cell_uuid if cell_uuid else "")
        self.sep = "_" if cell_uuid else "."
        self.read_only = read_only    # a dry run resumes, but moves nothing

    def load(self):
        rows = self.api_db.query(sql("placement_heal.get_marker"),
                                 {"scope": self.scope})
        if not rows:
            return None
        stored, cell_uuid = rows[0]
        return cell_uuid, stored.replace(self.sep, "-")

    def save(self, cell_uuid, instance_uuid):
        if self.read_only:
            return

        def write(db):
            db.execute(sql("placement_heal.delete_marker"),
                       {"scope": self.scope})
            db.execute(sql("placement_heal.insert_marker"), {
                "scope": self.scope, "cell": cell_uuid,
                "marker": instance_uuid.replace("-", self.sep)})
        self.api_db.run_in_transaction(write)

    def clear(self):
        if self.read_only:
            return
        self.api_db.execute(sql("placement_heal.delete_marker"),
                            {"scope": self.scope})


# -- the run over the cells ------------------------------------------------

class HealRun:
    """One heal_allocations run over its cells (cell0 never), in cell
    order, with nova-manage's messages and exit codes.

    healer_for(report, own_clients=False) gives a Healer reporting to
    report (own_clients: with HTTP sessions of its own, for a thread);
    open_db(cell) the cell's database; marker the Marker of a --max-count
    run (None otherwise; a dry run's reads it and moves nothing).

    jobs > 1 heals the cells at the same time when they share no budget:
    without --max-count (whose budget the cells use up in cell order, so
    such runs go one cell at a time) and with more than one cell. Each
    cell then has its own database connection and HTTP
    sessions, its lines are kept and printed in cell order once all are
    done, and the exit code is the one a run one cell at a time gives
    when no cell fails: 0 if anything was healed, else 4; otherwise the
    first failing cell's, in cell order. Unlike such a run, the cells
    after a failing one are healed too (they ran at the same time), and
    their lines are printed.
    """

    def __init__(self, report, healer_for, open_db, max_count, unlimited,
                 instance_uuid=None, marker=None, jobs=1, meter=None):
        self.report = report
        self.healer_for = healer_for
        self.open_db = open_db
        self.max_count = max_count
        self.unlimited = unlimited
        self.instance_uuid = instance_uuid
        self.marker = marker
        self.jobs = jobs
        self.meter = meter

    def run(self, cells):
        """(instances healed, exit code, the message of a failure)."""
        cells = [cell for cell in cells if cell.uuid != CELL0_UUID]
        if (self.jobs > 1 and self.unlimited and not self.instance_uuid
                and len(cells) > 1):
            return self._at_once(cells)
        return self._in_turn(cells)

    def _resume(self, cells):
        """(cell uuid, instance uuid) where the last --max-count run of
        this scope stopped, if that cell is still one of the run's."""
        resume = self.marker.load() if self.marker else None
        if resume and resume[0] not in [cell.uuid for cell in cells]:
            return None
        return resume

    def _in_turn(self, cells):
        output = self.report.output
        healer = self.healer_for(self.report)
        resume = self._resume(cells)
        processed = 0
        last = {}
        for cell in cells:
            if resume and cell.uuid != resume[0]:
                continue
            output("Looking for instances in cell: %s" % cell.identity)
            limit = self.max_count if self.unlimited \
                else self.max_count - processed
            db = self.open_db(cell)
            start_after = None
            if resume:
                start_after = self._resume_position(db, resume[1])
                resume = None
            try:
                processed += healer.heal_cell(
                    db, limit, self.unlimited,
                    instance_uuid=self.instance_uuid,
                    start_after=start_after,
                    on_page=lambda uuid, c=cell.uuid: last.update(
                        at=(c, uuid)))
            except HealStop as stop:
                self.report.stop(stop)
                return processed, stop.code, stop.message
            if self.meter is not None and self.meter.stopped:
                # As --max-count: more to do, resumed from the marker.
                if self.marker and "at" in last:
                    self.marker.save(*last["at"])
                return processed, 1, None
            if (not self.unlimited and processed == self.max_count
                    and not self.instance_uuid):
                output("Max count reached. Processed %s instances."
                       % processed)
                if self.marker:
                    self.marker.save(*last["at"])
                return processed, 1, None
        return self._done(processed)

    def _resume_position(self, db, instance_uuid):
        rows = db.query(sql("placement_heal.marker_position"),
                        {"uuid": instance_uuid})
        if not rows:
            return None
        self.report.output("Resuming after instance %s (where the previous "
                           "--max-count run stopped)." % instance_uuid)
        return rows[0][1], rows[0][0]

    def _done(self, processed):
        self.report.output("Processed %s instances." % processed)
        if self.marker:
            self.marker.clear()
        return processed, (0 if processed else 4), None

    def _at_once(self, cells):
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            results = [future.result() for future in
                       [pool.submit(self._one_cell, cell) for cell in cells]]
        if self.meter is not None:
            self.meter.close()
        processed, first = 0, None
        for report, healed, failure in results:
            report.replay(self.report)
            if failure is None:
                processed += healed
            elif first is None:
                first = failure
        if isinstance(first, HealStop):
            return processed, first.code, first.message
        if first is not None:
            raise first
        if self.meter is not None and self.meter.stopped:
            return processed, 1, None
        return self._done(processed)

    def _one_cell(self, cell):
        """(its report, instances healed, HealStop or error or None), in a
        thread of its own; the cell's work is a run without --max-count,
        one page of DEFAULT_BATCH after the other."""
        report = CellReport()
        try:
            report.output("Looking for instances in cell: %s"
                          % cell.identity)
            healer = self.healer_for(report, own_clients=True)
            healed = healer.heal_cell(self.open_db(cell), DEFAULT_BATCH,
                                      True)
        except HealStop as stop:
            report.stop(stop)
            return report, 0, stop
        except Exception as exc:  # raised in cell order, after the output
            return report, 0, exc
        return report, healed, None


# -- one cell -----------------------------------------------------------------

class Healer:
    """Heals one cell a page at a time. The page's allocations are read
    ahead, readers GETs in flight, and its ports listed in one Neutron
    call when the first instance needs them; the page is written with
    one POST (_write_page) or, when that is not plain, its instances
    one by one in order, so the lines, the writes and where a failure
    stops are those of a run reading each just before use."""

    def __init__(self, placement, neutron, report, dry_run=False,
                 force=False, meter=None, readers=DEFAULT_READERS,
                 post_pages=True):
        self.placement = placement
        # False: every page the one-at-a-time way (--jobs threads: cells
        # POSTing at once ended once with a consumer's old project kept,
        # a race not yet understood).
        self.post_pages = post_pages
        self.neutron = neutron            # None: --skip-port-allocations
        self.report = report
        self.output = report.output
        self.dry_run = dry_run
        self.force = force
        self.meter = meter                # nmtool.ui.progress.Progress or None
        self.readers = Readers(readers)
        self._read = {}                   # uuid -> (response, exception)
        self._page_uuids = []             # whose ports one call lists
        self._in_page = frozenset()
        self._ports = None                # device id -> ports, or exception
        self._done = {}                   # uuid -> Done, of a page written
        self._known = None                # consumers with allocations, or None
        self._new = frozenset()           # the page's uuids in none of them

    # one cell ------------------------------------------------------------

    def heal_cell(self, db, limit, unlimited, instance_uuid=None,
                  start_after=None, on_page=None):
        """Returns the number of instances healed in the cell. start_after:
        (created_at, id) of a resume marker; on_page(uuid) is told the last
        instance looked at, after each page and where the budget ends."""
        try:
            return self._heal_pages(db, limit, unlimited, instance_uuid,
                                    start_after, on_page)
        finally:
            self.readers.close()
            self._read, self._ports, self._done = {}, None, {}
            self._known, self._new = None, frozenset()

    def _heal_pages(self, db, limit, unlimited, instance_uuid, start_after,
                    on_page):
        nodes = {}
        healed = 0
        if (unlimited and not instance_uuid and not self.dry_run
                and self.post_pages):
            self._known = self._known_consumers(db)
        page = self._page(db, limit, instance_uuid, start_after)
        while page:
            if self.meter is not None and self.meter.stop_asked():
                return healed  # --stop-file or a signal: between pages
            self.output("Found %s candidate instances." % len(page))
            bfv = self._boot_from_volume(db, page)
            self._read_ahead(page)
            self._write_page(db, page, nodes, bfv, None
                             if unlimited or instance_uuid else limit - healed)
            for instance in page:
                if self.heal_instance(db, instance, nodes, bfv):
                    healed += 1
                if self.meter is not None:
                    self.meter.add(1)
                if not unlimited and healed == limit and not instance_uuid:
                    # The budget ends here, even inside a page: nova goes
                    # on to the page's end and past --max-count.
                    if on_page:
                        on_page(instance.uuid)
                    return healed
            if on_page:
                on_page(page[-1].uuid)
            if instance_uuid:
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

    def _known_consumers(self, db):
        """The consumers holding allocations on any provider, read with
        one GET per provider (readers in flight) when the cell has
        CONSUMERS_PER_PROVIDER candidates per provider or more; else, or
        when any read fails, None (every instance is read on its own)."""
        try:
            resp = self.placement.resource_providers()
            if resp.status_code != 200:
                return None
            providers = [rp["uuid"] for rp in
                         resp.json().get("resource_providers", [])]
            if count_candidates(db) < CONSUMERS_PER_PROVIDER * max(
                    1, len(providers)):
                return None
        except (ServiceError, ValueError, KeyError, TypeError):
            return None
        known = set()
        for read, exc in self.readers.map(self.placement.provider_allocations,
                                          providers):
            if exc is not None or read.status_code != 200:
                return None
            try:
                known.update(read.json()["allocations"])
            except (ValueError, KeyError, TypeError):
                return None
        return known

    def _read_ahead(self, page):
        """Read the allocations of the page's instances that will be
        looked at (reads cannot conflict; a failure is met in order).
        Instances no provider listed (see _known_consumers) are not read:
        the page's POST takes them as new consumers, and the instances'
        own way reads them just before use."""
        wanted = [i.uuid for i in page
                  if i.task_state is None and i.node is not None]
        self._new = frozenset() if self._known is None else frozenset(
            uuid for uuid in wanted if uuid not in self._known)
        to_read = [uuid for uuid in wanted if uuid not in self._new]
        self._read = dict(zip(to_read, self.readers.map(
            self.placement.consumer_allocations, to_read)))
        self._page_uuids = wanted
        self._in_page = frozenset(wanted)
        self._ports = None

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
        """True when the instance's allocations were written."""
        done = self._done.pop(instance.uuid, None)
        if done is not None:
            # planned and written with the rest of its page: its lines
            # are printed now, in the page's order
            for line in done.lines:
                self.output(line)
            self.report.outcome(done.outcome)
            return done.outcome.action in (CREATED, UPDATED)
        plan = self._plan(db, instance, nodes, bfv, self.output)
        if isinstance(plan, Outcome):
            self.report.outcome(plan)
            return False
        if self.dry_run:
            self.report.outcome(Outcome(
                instance.uuid, WOULD_CREATE if plan.need == CREATE
                else WOULD_UPDATE, allocations=plan.allocations))
            return False
        self._update_ports(plan.ports, self.output)
        self._put(instance, plan.allocations, plan.ports)
        self.report.outcome(plan.outcome())
        return True

    def _plan(self, db, instance, nodes, bfv, out):
        """What the instance needs: an Outcome when nothing is to be
        written (skipped, up to date), else a Plan. Reads only; out()
        gets nova's lines about it."""
        if instance.task_state is not None:
            return Outcome(instance.uuid, SKIPPED, reason=BUSY
                           + instance.task_state)
        if instance.node is None:
            return Outcome(instance.uuid, SKIPPED, reason=NOT_ON_A_HOST)
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
            port_allocations, ports = self._ports_to_heal(db, instance,
                                                          nodes, out)
            if port_allocations:
                need = need or UPDATE
                allocations["allocations"] = _merge(
                    allocations["allocations"], port_allocations)

        if not need:
            return Outcome(instance.uuid, UP_TO_DATE)
        return Plan(instance, need, allocations, ports)

    # a page at once --------------------------------------------------------

    def _write_page(self, db, page, nodes, bfv, budget):
        """Plan the page's instances in order and write the allocations
        of all that need them with one POST /allocations, their ports
        updated first. budget: how many may still be healed (None: no
        limit); planning stops where it ends, as the loop does.

        Each instance's lines and outcome are kept in self._done for
        heal_instance to print in the page's order. When anything about
        the page is not plain (a stop while planning, a port update or
        the POST failing, fewer than two writes, a dry run), the ports
        updated are rolled back, nothing is kept and every instance goes
        the one-at-a-time way, from the same reads: the lines, writes,
        exit code and end state are then nova-manage's, and an instance
        nova changed since its read gets its 409 there."""
        self._done = {}
        if self.dry_run or not self.post_pages or budget == 0 \
                or len(page) < 2:
            return
        read, done, writes = dict(self._read), {}, []
        # new consumers, as far as the providers' listing knew: the POST
        # sends them a null generation, which Placement refuses (409) for
        # any that has allocations by then
        self._read.update((uuid, (_NO_ALLOCATIONS, None))
                          for uuid in self._new)
        try:
            for instance in page:
                if budget is not None and len(writes) == budget:
                    break
                lines = []
                plan = self._plan(db, instance, nodes, bfv, lines.append)
                if isinstance(plan, Outcome):
                    done[instance.uuid] = Done(lines, plan)
                    continue
                plan.lines = lines
                writes.append(plan)
                done[instance.uuid] = plan
        except HealStop:
            writes = []
        if len(writes) < 2 or not self._write_plans(writes):
            # the reads are used again, the ports listed afresh (planning
            # marked the listed ones)
            self._read, self._ports = read, None
            return
        for uuid, item in done.items():
            self._done[uuid] = item if isinstance(item, Done) \
                else Done(item.lines, item.outcome())

    def _write_plans(self, plans):
        """Update the plans' ports, then POST their allocations; True
        when all is written. On any failure the ports updated are put
        back (a rollback that fails stops the run, as in nova) and False
        is returned."""
        # Each port is its own Neutron resource: the page's updates go
        # with the reads' bound in flight, the lines kept in order.
        bodies = []
        for plan in plans:
            for port in plan.ports:
                body = {"port": {PROFILE: port.get(PROFILE) or {}}}
                plan.lines.append("Updating port %s with attributes %s"
                                  % (port["id"], body["port"]))
                bodies.append((port, body))
        results = self.readers.map(
            lambda item: self.neutron.update_port(item[0]["id"], item[1]),
            bodies)
        updated = [port for (port, _), (_, exc) in zip(bodies, results)
                   if exc is None]
        if len(updated) < len(bodies):
            self._rollback(updated, _ignore)
            for _, exc in results:
                if exc is not None and not isinstance(exc, ServiceError):
                    raise exc
            return False
        body = {}
        for plan in plans:
            body[plan.instance.uuid] = plan.allocations
        try:
            resp = self.placement.post_allocations(body)
        except ServiceError:
            resp = None
        if resp is not None and resp.status_code == 204:
            return True
        self._rollback(updated, _ignore)
        return False

    def _current_allocations(self, instance):
        read = self._read.pop(instance.uuid, None)
        try:
            if read is None:
                resp = self.placement.consumer_allocations(instance.uuid)
            elif read[1] is not None:
                raise read[1]
            else:
                resp = read[0]
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

    def _ports_to_heal(self, db, instance, nodes, out):
        try:
            ports = self._instance_ports(instance.uuid)
            extended = self.neutron.has_extended_resource_request()
        except ServiceError as exc:
            raise HealStop(5, "Unable to query ports for instance %s: %s"
                           % (instance.uuid, _neutron_text(exc)))
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
            out(
                "Found a request group : resource provider mapping %s for "
                "the port %s with resource request %s attached to the "
                "instance %s" % (mapping, port["id"],
                                 port.get(RESOURCE_REQUEST), instance.uuid))
        return chosen["allocations"], to_heal

    def _instance_ports(self, uuid):
        """The instance's ports, from one listing of the page's ports
        (made when the first instance asks)."""
        if uuid not in self._in_page:
            return self.neutron.list_ports(
                uuid, ["id", RESOURCE_REQUEST, PROFILE])
        if self._ports is None:
            try:
                self._ports = self.neutron.ports_of_devices(
                    self._page_uuids, ["id", RESOURCE_REQUEST, PROFILE])
            except ServiceError as exc:
                self._ports = exc
        if isinstance(self._ports, ServiceError):
            raise self._ports
        return self._ports.get(uuid, [])

    def _update_ports(self, ports, out):
        """Give the ports their allocation keys; a failure rolls back the
        ones done and stops the run (nova's exit 6)."""
        done = []
        for port in ports:
            body = {"port": {PROFILE: port.get(PROFILE) or {}}}
            out("Updating port %s with attributes %s"
                % (port["id"], body["port"]))
            try:
                self.neutron.update_port(port["id"], body)
            except ServiceError as exc:
                exc = _neutron_text(exc)
                self.output("Updating port %s failed: %s" % (port["id"], exc))
                self._rollback(done)
                raise HealStop(6, "Unable to update ports with allocations "
                                  "that are about to be created in "
                                  "placement: %s. The healing of the "
                                  "instance is aborted. It is safe to try to "
                                  "heal the instance again." % exc)
            done.append(port)

    def _rollback(self, ports, out=None):
        out = out or self.output
        failed, last = [], None
        for port in ports:
            profile = dict(port.get(PROFILE) or {})
            profile.pop(ALLOCATION, None)
            out("Rolling back port update for %s" % port["id"])
            try:
                self.neutron.update_port(port["id"],
                                         {"port": {PROFILE: profile}})
            except ServiceError as exc:
                last = _neutron_text(exc)
                out("Rolling back update for port %s failed: %s"
                    % (port["id"], last))
                failed.append(port["id"])
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


class Plan:
    """What one instance needs written: its allocations (the body of
    its PUT, or its entry in a page's POST) and the ports to update
    first; lines: nova's lines about it, kept while its page is written
    at once."""
    __slots__ = ("instance", "need", "allocations", "ports", "lines")

    def __init__(self, instance, need, allocations, ports):
        self.instance = instance
        self.need = need
        self.allocations = allocations
        self.ports = ports
        self.lines = []

    def outcome(self):
        return Outcome(self.instance.uuid,
                       CREATED if self.need == CREATE else UPDATED)


class _NoAllocations:
    """What GET /allocations/{consumer} answers for a new consumer."""
    status_code = 200

    @staticmethod
    def json():
        return {"allocations": {}}


_NO_ALLOCATIONS = _NoAllocations()


class Done:
    """An instance its page's write took care of: its lines and outcome,
    printed when the loop comes to it."""
    __slots__ = ("lines", "outcome")

    def __init__(self, lines, outcome):
        self.lines = lines
        self.outcome = outcome


def _ignore(line):
    """Lines of a page write given up: the instances' own way prints
    nova's."""


def _neutron_text(exc):
    """How nova-manage words a Neutron failure: an error answer in
    neutronclient's words; a connection failure (where nova's client
    differs anyway) as nmtool names it, service and URL."""
    return getattr(exc, "client_text", None) or str(exc)


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


def instance_cell_uuid(api_db, instance_uuid):
    """heal_allocations --instance: the uuid of the instance's cell, or
    None when it is not mapped to one."""
    rows = api_db.query(sql("placement_heal.instance_cell"),
                        {"uuid": instance_uuid})
    return rows[0][0] if rows else None


def count_candidates(cell_db):
    """The instances heal_allocations will look at in a cell (for the
    progress line)."""
    return cell_db.scalar(sql("placement_heal.count_candidates"))
