"""Property-management-system adapters and the sync that keeps the local copy right."""
