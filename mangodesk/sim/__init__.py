"""Local simulators of every lock vendor and the PMS, for the demo, tests and benchmarks.

They follow the real wire formats in ``shared/reference`` and listen on loopback only.
"""
