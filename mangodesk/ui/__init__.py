"""The desk application: the only package that imports PySide6.

Everything here is a thin layer over the Qt-free services in :mod:`mangodesk.services`.
Vendor and PMS calls run through :class:`mangodesk.ui.tasks.TaskRunner`, never on the GUI
thread; engine events reach widgets through :class:`mangodesk.ui.events.EventRelay`.
"""
