"""Helpers for tests that need PostgreSQL (marked `postgres`).

They skip with the reason on SQLite (the development default), except under CI=true, where CI
runs on PostgreSQL and a skip would hide a broken set-up: there they fail instead.
"""

from __future__ import annotations

from django.db import connection

from .skips import skip_or_fail


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def require_postgres() -> None:
    if is_postgres():
        return
    reason = (
        "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> "
        f"(the database is {connection.vendor})"
    )
    skip_or_fail(reason)
