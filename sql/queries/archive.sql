-- Archiving soft-deleted rows into shadow tables, one batch per table and
-- per transaction. {braced} names are identifiers and column lists taken
-- from the live schema (information_schema); values are bound. t0 is the
-- parent table, t1..tN the child tables reached through foreign keys.

-- fragment: archive.where_soft_deleted
-- The soft-delete test nova uses: deleted differs from its default, 0.
t0.`deleted` <> 0

-- fragment: archive.where_deleted_before
-- With --before: deleted before that date (strictly).
t0.`deleted` <> 0 AND t0.`deleted_at` < %(before)s

-- fragment: archive.where_task_log
-- task_log with --task-log: its rows are never soft-deleted, so all go.
1 = 1

-- fragment: archive.where_task_log_before
-- task_log with --task-log and --before: by when the task last ran.
t0.`updated_at` < %(before)s

-- name: archive.session_no_index_dives
-- used by: db archive_deleted_rows
-- Set once on every connection an archive run uses. A batch names its
-- rows by lists of a hundred ids or uuids, each on a unique or forced
-- index; the optimizer would estimate every list element with two index
-- dives, as dear as reading the rows, to choose the plan the index
-- statistics choose anyway. Plans only, never results.
SET SESSION eq_range_index_dive_limit = 1

-- name: archive.session_no_subquery_cache
-- used by: db archive_deleted_rows
-- Also set once per connection: the plan's EXISTS probes
-- (archive.chain_exists) run once per candidate, each for another uuid,
-- so MariaDB's subquery cache only ever misses; a third of a plan read's
-- time went to it. MySQL has no such cache and refuses the setting,
-- which the run then does without.
SET SESSION optimizer_switch = 'subquery_cache=off'

-- name: archive.any_candidate
-- used by: db archive_deleted_rows
-- A plain read first: most tables have nothing to archive on most
-- passes, and this answers that in one round trip, without a transaction.
-- Above the id where the previous pass of this run stopped (-1 at first):
-- what lies below it was archived or is live, and reading it again on
-- every pass would make a long run quadratic in the table's live rows.
SELECT 1 FROM {table} t0 WHERE t0.`id` > %(after)s AND {qualifier} LIMIT 1

-- name: archive.candidates
-- used by: db archive_deleted_rows
-- The next soft-deleted rows of a table after a given id, oldest first,
-- with one flag per chain of child tables ({chain_flags}, made of
-- archive.chain_exists): a chain with rows costs one row of the
-- --max_rows budget, the way nova-manage counts. A plain read, fetched a
-- chunk at a time until the budget is spent, starting above where the
-- previous pass of the run stopped (starting at the table's first id
-- would read every live row below the archived ones on every pass). The
-- batch then locks what it chose with archive.lock_candidates.
SELECT t0.`id`{extra_columns}{chain_flags}
  FROM {table} t0
 WHERE t0.`id` > %(after)s AND {qualifier}
 ORDER BY t0.`id`
 LIMIT %(limit)s

-- name: archive.lock_candidates
-- used by: db archive_deleted_rows
-- The rows chosen, locked by id (and still soft-deleted), so that a
-- concurrent archive waits and then finds them gone rather than copying
-- them twice. By id, not by scanning from %(after)s: only these rows are
-- locked, none of the live rows between them and none past the last, so
-- the next batch, running beside this one on another connection, locks
-- its own rows without waiting. When the rows locked are not all the rows
-- chosen (another archive took some, or one was restored), the batch
-- chooses again with archive.candidates_locked. Through the primary key:
-- on a small table the server may prefer an index on `deleted`, and lock
-- its gaps, where a concurrent soft-delete would then wait.
SELECT t0.`id`
  FROM {table} t0 FORCE INDEX (PRIMARY)
 WHERE t0.`id` IN %(ids)s AND {qualifier}
 ORDER BY t0.`id`
 FOR UPDATE

-- name: archive.candidates_locked
-- used by: db archive_deleted_rows
-- archive.candidates read under locks, for a batch whose plain read was
-- overtaken: the chunks it reads lock a few rows past the batch's end,
-- which only delays the next batch.
SELECT t0.`id`{extra_columns}{chain_flags}
  FROM {table} t0 FORCE INDEX (PRIMARY)
 WHERE t0.`id` > %(after)s AND {qualifier}
 ORDER BY t0.`id`
 LIMIT %(limit)s
 FOR UPDATE

-- fragment: archive.chain_exists
-- Whether parent row t0 has rows along one chain of foreign keys, t1
-- first: it stops at the first row found, where a join fetches them all.
EXISTS (SELECT 1 FROM {first_child} t1 {joins} WHERE t1.{child_column} = t0.{parent_column})

-- name: archive.copy_children
-- used by: db archive_deleted_rows
-- Copies the batch's child rows along one chain into the child's shadow
-- table. The batch's parents are named by id, not by a range: a range
-- scan locks the row after its end, which may belong to the next batch.
INSERT INTO {shadow} ({columns})
SELECT {source_columns}
  FROM {table} t0 FORCE INDEX (PRIMARY) {joins}
 WHERE t0.`id` IN %(ids)s AND {qualifier}

-- name: archive.delete_children
-- used by: db archive_deleted_rows
-- Removes the child rows just copied.
DELETE {target}
  FROM {table} t0 FORCE INDEX (PRIMARY) {joins}
 WHERE t0.`id` IN %(ids)s AND {qualifier}

-- name: archive.copy_parents
-- used by: db archive_deleted_rows
-- Copies the batch's parent rows into the shadow table.
INSERT INTO {shadow} ({columns})
SELECT {source_columns}
  FROM {table} t0 FORCE INDEX (PRIMARY)
 WHERE t0.`id` IN %(ids)s AND {qualifier}

-- name: archive.delete_parents
-- used by: db archive_deleted_rows
-- Removes the parent rows just copied.
DELETE t0
  FROM {table} t0 FORCE INDEX (PRIMARY)
 WHERE t0.`id` IN %(ids)s AND {qualifier}

-- name: archive.referenced
-- used by: db archive_deleted_rows
-- Whether a row of a table this batch does not archive points, through
-- one foreign key, at one of the rows the batch deletes ({target}: the
-- parent t0 or a child reached by {joins}). Asked for every such key
-- before the batch deletes anything; when none answers, the deletes run
-- without the server's own checks (archive.unchecked), which would only
-- find again the child rows the batch has just deleted itself. A locking
-- read, so it also sees rows committed since the batch's plan; new ones
-- cannot come, their insert waits for the parent row locked here.
SELECT 1
  FROM {table} t0 FORCE INDEX (PRIMARY) {joins}
  STRAIGHT_JOIN {referencing} r ON r.{column} = {target}.{parent_column}
 WHERE t0.`id` IN %(ids)s AND {qualifier}
 LIMIT 1
 LOCK IN SHARE MODE

-- name: archive.unchecked
-- used by: db archive_deleted_rows
-- For the batch's deletes only, when no archive.referenced answered.
SET SESSION foreign_key_checks = 0

-- name: archive.checked
-- used by: db archive_deleted_rows
-- Right after them, before the commit, and whatever happened.
SET SESSION foreign_key_checks = 1

-- fragment: archive.join_child
-- One step down a foreign key, from table t{parent} to t{child}, in that
-- order: through the index every foreign key has, so that a batch reads
-- (and locks) only its own child rows. Left to itself, the optimizer may
-- scan a small child table whole, locking the rows of a batch running
-- beside this one.
STRAIGHT_JOIN {child_table} t{child} ON t{child}.{child_column} = t{parent}.{parent_column}

-- name: archive.count_moving_children
-- used by: db archive_deleted_rows, db status
-- For the progress line of a long run (counted once, at a terminal only):
-- the child rows along one chain that will move with soft-deleted parents
-- although they are not soft-deleted themselves, so that the soft-deleted
-- rows counted per table plus these make the rows the run will move.
SELECT COUNT(*)
  FROM {table} t0 {joins}
 WHERE {qualifier} AND {child_stays}

-- fragment: archive.child_not_soft_deleted
-- A child row that its own table's pass would not take.
t{child}.`deleted` = 0

-- fragment: archive.child_not_deleted_before
-- The same with --before.
NOT (t{child}.`deleted` <> 0 AND t{child}.`deleted_at` < %(before)s)

-- name: archive.instances_among
-- used by: db archive_deleted_rows
-- The sweep (archive_api.deleted_mappings): which of a chunk of instance
-- uuids are still in the cell, live or soft-deleted. Their API rows stay,
-- whatever else is true of them.
SELECT `uuid` FROM instances WHERE `uuid` IN %(uuids)s

-- name: archive.archived_among
-- used by: db archive_deleted_rows
-- The sweep: which of the uuids no longer in the cell are in its shadow
-- table, archived instances whose API rows are then deleted. A scan (the
-- shadow table has no index on uuid), made only for mappings whose
-- instance is not in the cell: none at all, normally, once the mappings
-- read are the cell's own (its mapping known).
SELECT `uuid` FROM shadow_instances WHERE `uuid` IN %(uuids)s
