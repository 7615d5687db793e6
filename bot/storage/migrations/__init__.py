"""The Alembic migrations, shipped inside the package so that an installed wheel can migrate.

`paperbot db upgrade` (and every start) runs them; developers run `alembic` from the
repository root, whose `alembic.ini` points here. New revisions go in `versions/`.
"""
