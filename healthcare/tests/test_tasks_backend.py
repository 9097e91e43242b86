"""The queue backend is a setting (TASKS_BACKEND): the database queue by default, RQ (Redis) for
clinics with several machines. docs/background_generation.md explains the switch."""

from __future__ import annotations

import socket
import subprocess

import pytest
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend

from healthcare.tasks import GENERATION_QUEUE, generate_proposal_task

from .ollama_standin import OllamaStandIn
from .processes import MANAGE, ROOT, environment, manage, seed
from .skips import skip_or_fail

# The worker command for RQ (docs/background_generation.md): RQ must use django-tasks-rq's Job.
RQ_WORKER_ARGS = ["--job-class", "django_tasks_rq.backend.Job", "default", "generation"]

PROBE = (
    "from django.conf import settings; from django_tasks import task_backends; "
    "from healthcare.tasks import generate_proposal_task as t; "
    "b = task_backends['default']; "
    "print('RESULT', type(b).__module__ + '.' + type(b).__name__, "
    "'django_rq' in settings.INSTALLED_APPS, sorted(getattr(settings, 'RQ_QUEUES', {})), "
    "t.get_backend() is b, t.queue_name)"
)


def probe(env: dict) -> str:
    out = manage(env, "shell", "-c", PROBE, timeout=60)
    return next(line for line in out.splitlines() if line.startswith("RESULT"))


def test_the_default_is_the_database_queue():
    backend = task_backends["default"]
    assert isinstance(backend, DatabaseBackend)
    assert generate_proposal_task.get_backend() is backend
    assert generate_proposal_task.queue_name == GENERATION_QUEUE
    assert GENERATION_QUEUE in backend.queues


def test_the_database_queue_is_selected_when_unset(worker_db):
    env = environment(worker_db, "http://127.0.0.1:9")
    env.pop("TASKS_BACKEND", None)
    assert probe(env) == ("RESULT django_tasks_db.backend.DatabaseBackend False [] True generation")


def test_the_setting_selects_rq(worker_db):
    env = environment(
        worker_db,
        "http://127.0.0.1:9",
        TASKS_BACKEND="django_tasks_rq.RQBackend",
        REDIS_URL="redis://127.0.0.1:6379/13",
    )
    assert probe(env) == (
        "RESULT django_tasks_rq.backend.RQBackend True ['default', 'generation'] True generation"
    )
    assert "no issues" in manage(env, "check")


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_an_rq_worker_completes_a_job(worker_db):
    """Enqueue through the RQ backend, run `manage.py rqworker --burst`, see it completed."""
    if not redis_reachable():
        skip_or_fail("no Redis on 127.0.0.1:6379 (.ci/run installs and starts one)")
    with OllamaStandIn() as ollama:
        env = environment(
            worker_db,
            ollama.url,
            TASKS_BACKEND="django_tasks_rq.RQBackend",
            REDIS_URL="redis://127.0.0.1:6379/13",
        )
        manage(env, "migrate", "--noinput")
        # Only this test's jobs in its Redis database (13), whatever an earlier run left.
        manage(env, "shell", "-c", "import django_rq; django_rq.get_connection().flushdb()")
        (pk,) = seed(env, 1)
        assert worker_db.proposal(pk)["generation_status"] == "queued"
        done = subprocess.run(
            [*MANAGE, "rqworker", *RQ_WORKER_ARGS, "--burst"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        proposal = worker_db.proposal(pk)
        assert proposal["generation_status"] in ("completed", "incomplete"), proposal
        assert len(ollama.generation_requests()) == 1
