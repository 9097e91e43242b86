"""A real worker process (`manage.py db_worker`) takes queued jobs from the database queue.

The pytest database is not visible to another process (SQLite in memory; PostgreSQL inside a
transaction), so each test gets a database of its own that subprocesses can open: a SQLite file
in tmp_path, or on PostgreSQL (DATABASE_URL=postgres://..., as in CI) a throwaway database
`inhealth_worker_<random>` that is dropped afterwards. Everything that writes goes through
`manage.py` subprocesses; the test reads the tables directly.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from .ollama_standin import OllamaStandIn

pytestmark = pytest.mark.slow

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


@pytest.fixture
def worker_db(tmp_path):
    database = WorkerDatabase(tmp_path)
    yield database
    database.drop()


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


def test_a_worker_process_completes_queued_jobs(worker_db):
    with OllamaStandIn() as ollama:
        env = environment(worker_db, ollama.url)
        manage(env, "migrate", "--noinput")
        ids = seed(env, 2)
        for pk in ids:
            proposal = worker_db.proposal(pk)
            assert proposal["generation_status"] == "queued"
            assert worker_db.task_status(proposal["task_id"]) == "READY"
        manage(env, *WORKER[2:], "--batch")
        for pk in ids:
            proposal = worker_db.proposal(pk)
            assert proposal["generation_status"] in ("completed", "incomplete"), proposal
            assert proposal["raw_response"]
            assert worker_db.task_status(proposal["task_id"]) == "SUCCESSFUL"
        assert len(ollama.generation_requests()) == 2


def test_a_killed_worker_is_recovered_and_a_restart_loses_no_queued_job(worker_db):
    with OllamaStandIn(mode="hang", hang_limit=120) as ollama:
        env = environment(worker_db, ollama.url)
        manage(env, "migrate", "--noinput")
        first, second = seed(env, 2)
        worker = subprocess.Popen(
            WORKER, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for(
                lambda: worker_db.proposal(first)["generation_status"] == "running",
                60,
                "the worker to start the first job",
            )
        finally:
            worker.send_signal(signal.SIGKILL)  # no chance to clean up: a crash, an OOM kill
            worker.wait(timeout=30)
        assert worker_db.proposal(first)["generation_status"] == "running"
        task_first = worker_db.proposal(first)["task_id"]
        assert worker_db.task_status(task_first) == "RUNNING"
        assert worker_db.proposal(second)["generation_status"] == "queued"

        # What the run command does before starting the workers again (here without waiting
        # GENERATION_STALE_AFTER_SECONDS for the dead job's heartbeat to age).
        out = manage(env, "recover_stale_generations", "--older-than", "0")
        assert f"proposals {first}." in out
        dead = worker_db.proposal(first)
        assert dead["generation_status"] == "failed"
        assert dead["error_type"] == "worker_stopped"
        assert "worker stopped" in dead["failure_reason"]
        assert worker_db.task_status(task_first) == "FAILED"
        assert worker_db.proposal(second)["generation_status"] == "queued"  # still waiting

        ollama.set_mode("ok")
        manage(env, *WORKER[2:], "--batch")
        assert worker_db.proposal(second)["generation_status"] in ("completed", "incomplete")
        assert worker_db.proposal(first)["generation_status"] == "failed"  # not run again


@pytest.mark.ollama
def test_a_worker_process_completes_a_job_against_the_real_ollama(worker_db, ollama_url):
    env = environment(
        worker_db, ollama_url, OLLAMA_TIMEOUT=600, OLLAMA_NUM_PREDICT=200, OLLAMA_KEEP_ALIVE="30m"
    )
    manage(env, "migrate", "--noinput")
    (pk,) = seed(env, 1)
    worker = subprocess.Popen(
        WORKER, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        seen = []

        def finished() -> bool:
            proposal = worker_db.proposal(pk)
            if proposal["generation_status"] == "running" and proposal["raw_response"]:
                seen.append(len(proposal["raw_response"]))
            return proposal["generation_status"] not in ("queued", "running")

        wait_for(finished, 900, "the real model to finish")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
    proposal = worker_db.proposal(pk)
    assert proposal["generation_status"] in ("completed", "incomplete"), proposal
    assert proposal["raw_response"].strip()
    assert worker_db.task_status(proposal["task_id"]) == "SUCCESSFUL"
    # The text was saved while the model was still writing (live progress), not only at the end.
    assert seen, "no partial text was saved while the generation was running"
    assert min(seen) < len(proposal["raw_response"])
