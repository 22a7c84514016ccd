"""Guest communications: templates, when they are sent, and the hotel's SMTP server.

Qt-free; sits between the services (which own transactions and staff actions) and the store.
"""
