"""Helpers for tests that run `manage.py` subprocesses (worker, runserver, rqworker).

The pytest database is not visible to another process (SQLite in memory; PostgreSQL inside a
transaction), so such a test gets a database of its own that subprocesses can open: a SQLite
file in tmp_path, or on PostgreSQL (DATABASE_URL=postgres://..., as in CI) a throwaway database
`inhealth_worker_<random>` that `drop()` removes (the `worker_db` fixture in conftest.py does).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
WORKER = [*MANAGE, "db_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay"]
WORKER += ["--interval", "0.2"]

SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from healthcare.services.generation import request_generation
from healthcare.tests.factories import (
    DiagnosisFactory, DoctorProfileFactory, EncounterFactory, MedicalHistoryFactory,
    PatientFactory, VitalSignFactory,
)
doctor = DoctorProfileFactory().user.provider
ids = []
for n in range({count}):
    patient = PatientFactory(primary_doctor=doctor)
    for i in range(3):
        VitalSignFactory(
            encounter=EncounterFactory(patient=patient),
            recorded_at=timezone.now() - timedelta(days=30 * i),
            blood_pressure_systolic=150 + 10 * i,
        )
    DiagnosisFactory(encounter=EncounterFactory(patient=patient))
    MedicalHistoryFactory(patient=patient)
    ids.append(request_generation(patient, doctor, actor=doctor.user).proposal.pk)
print("RESULT:" + json.dumps(ids))
"""


class WorkerDatabase:
    """A database that subprocesses can open, with a tiny read helper for the test."""

    def __init__(self, tmp_path: Path):
        db = settings.DATABASES["default"]
        self.vendor = "postgresql" if "postgresql" in db["ENGINE"] else "sqlite"
        if self.vendor == "sqlite":
            self.path = tmp_path / "worker.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            import psycopg2

            self.params = {
                "user": db.get("USER") or "postgres",
                "password": db.get("PASSWORD") or "",
                "host": db.get("HOST") or "127.0.0.1",
                "port": str(db.get("PORT") or 5432),
            }
            self.name = f"inhealth_worker_{uuid.uuid4().hex[:10]}"
            admin = psycopg2.connect(dbname="postgres", **self.params)
            admin.autocommit = True
            admin.cursor().execute(f'CREATE DATABASE "{self.name}"')
            admin.close()
            auth = self.params["user"] + (
                f":{self.params['password']}" if self.params["password"] else ""
            )
            self.url = f"postgres://{auth}@{self.params['host']}:{self.params['port']}/{self.name}"

    def rows(self, sql: str, *args) -> list[tuple]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.path, timeout=20) as conn:
                return conn.execute(sql, args).fetchall()
        import psycopg2

        conn = psycopg2.connect(dbname=self.name, **self.params)
        try:
            cur = conn.cursor()
            cur.execute(sql.replace("?", "%s"), args)
            return cur.fetchall()
        finally:
            conn.close()

    def proposal(self, pk: int) -> dict:
        cols = ["generation_status", "raw_response", "failure_reason", "error_type", "task_id"]
        (row,) = self.rows(
            f"SELECT {', '.join(cols)} FROM ai_proposed_treatment_plans WHERE proposal_id = ?",  # noqa: S608 - fixed names
            pk,
        )
        return dict(zip(cols, row, strict=True))

    def task_status(self, task_id: str) -> str:
        from django_tasks_db.models import DBTaskResult

        (row,) = self.rows(
            f"SELECT status FROM {DBTaskResult._meta.db_table} "  # noqa: S608 - a model's table
            "WHERE REPLACE(CAST(id AS TEXT), '-', '') = ?",
            task_id.replace("-", ""),
        )
        return row[0]

    def drop(self) -> None:
        if self.vendor == "postgresql":
            import psycopg2

            admin = psycopg2.connect(dbname="postgres", **self.params)
            admin.autocommit = True
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.close()


def environment(database: WorkerDatabase, ollama_url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database.url,
        OLLAMA_API_URL=ollama_url,
        OLLAMA_MODEL="llama3.2",
        DEBUG="True",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [*MANAGE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def seed(env: dict, count: int) -> list[int]:
    out = manage(env, "shell", "-c", SEED.format(count=count))
    line = next(x for x in out.splitlines() if x.startswith("RESULT:"))
    return json.loads(line.removeprefix("RESULT:"))


def wait_for(predicate, timeout: float, what: str):
    """Poll another process's progress (bounded): the only way to watch it from outside."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
