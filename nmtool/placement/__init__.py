"""Placement: healing allocations, auditing providers, syncing host
aggregates, and the resources a flavor asks for."""
