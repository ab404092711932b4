"""One file per schema revision. Alembic skips this ``__init__``; it exists for type checking."""
