"""Alembic migrations of datavow's state store; run by :func:`datavow.store.upgrade_schema`."""
