"""Lock providers: one adapter per vendor behind the protocol in :mod:`mangodesk.vendors.base`."""
