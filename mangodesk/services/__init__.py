"""Use cases the GUI, the CLI and the engine call. Qt-free; each method is one unit of work.

Methods that talk to a vendor block: the GUI calls them through its background helper.
Results are plain dataclasses (views), never live ORM objects.
"""
