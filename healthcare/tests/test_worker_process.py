"""A real worker process (`manage.py db_worker`) takes queued jobs from the database queue.

The pytest database is not visible to another process (SQLite in memory; PostgreSQL inside a
transaction), so each test gets a database of its own that subprocesses can open: a SQLite file
in tmp_path, or on PostgreSQL (DATABASE_URL=postgres://..., as in CI) a throwaway database
`inhealth_worker_<random>` that is dropped afterwards. Everything that writes goes through
`manage.py` subprocesses; the test reads the tables directly.
"""

from __future__ import annotations

import signal
import subprocess

import pytest

from .ollama_standin import OllamaStandIn
from .processes import ROOT, WORKER, environment, manage, seed, wait_for

pytestmark = pytest.mark.slow


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
