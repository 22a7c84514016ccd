"""Plain types and pure rules. Imports nothing else of ours and does no I/O."""
