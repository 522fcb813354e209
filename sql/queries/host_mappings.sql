-- Host mappings of the API database: which cell each compute host is in.

-- name: host_mappings.all
-- used by: cell_v2 list_hosts
-- list_hosts: every host with its cell (nova sorts them by host itself).
SELECT c.name, c.uuid, h.host
  FROM host_mappings h JOIN cell_mappings c ON c.id = h.cell_id
 ORDER BY h.id

-- name: host_mappings.by_cell
-- used by: cell_v2 delete_cell, cell_v2 list_hosts
-- list_hosts --cell_uuid and delete_cell: the hosts of one cell.
SELECT c.name, c.uuid, h.host
  FROM host_mappings h JOIN cell_mappings c ON c.id = h.cell_id
 WHERE h.cell_id = %(cell_id)s
 ORDER BY h.id

-- name: host_mappings.by_host
-- used by: cell_v2 delete_host, cell_v2 discover_hosts
-- One host's mapping and its cell (host names compare as the column's
-- collation compares them, as in nova's lookup).
SELECT h.id, h.host, c.uuid
  FROM host_mappings h JOIN cell_mappings c ON c.id = h.cell_id
 WHERE h.host = %(host)s

-- name: host_mappings.of_hosts
-- used by: cell_v2 discover_hosts, cell_v2 map_cell_and_hosts,
-- used by: cell_v2 simple_cell_setup
-- The mappings of a batch of candidate host names, with the spelling
-- stored and the cell. The candidates come as a derived table so the
-- server compares them with the column's collation, as nova's lookup of
-- one host does. {candidates} is host_mappings.candidate repeated once
-- per host, joined by UNION ALL.
SELECT c.host, h.host, m.uuid
  FROM ({candidates}) AS c
  JOIN host_mappings h ON h.host = c.host
  JOIN cell_mappings m ON m.id = h.cell_id

-- fragment: host_mappings.candidate
-- One candidate host name of host_mappings.of_hosts; {index} numbers
-- them, so that each is its own bound value (host_0, host_1, ...).
SELECT %(host_{index})s AS host

-- name: host_mappings.insert
-- used by: cell_v2 discover_hosts, cell_v2 map_cell_and_hosts,
-- used by: cell_v2 simple_cell_setup
-- New host mappings, many rows in one statement (pymysql joins the rows
-- into one multi-row INSERT only when VALUES holds nothing but
-- placeholders, so created_at comes as a value). A duplicate host fails
-- the whole statement, which is how a concurrent discover_hosts is
-- detected.
INSERT INTO host_mappings (created_at, cell_id, host)
VALUES (%(created_at)s, %(cell_id)s, %(host)s)

-- name: host_mappings.delete_by_cell
-- used by: cell_v2 delete_cell
-- delete_cell --force: the hosts of the deleted cell.
DELETE FROM host_mappings WHERE cell_id = %(cell_id)s

-- name: host_mappings.delete
-- used by: cell_v2 delete_host
-- delete_host: one host mapping.
DELETE FROM host_mappings WHERE id = %(id)s
