"""Persistence: SQLAlchemy models, the database handle, migrations and the secret store."""
