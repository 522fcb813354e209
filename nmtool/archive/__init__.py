"""The archive engine: soft-deleted rows into shadow tables, batch by
batch (run, batch, lanes, api_cleanup), shadow tables purged (purge), and
the counts db status shows (status)."""
