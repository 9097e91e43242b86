"""Background tasks (Django Tasks API through the django-tasks backport).

The backend is a setting (TASKS / TASKS_BACKEND): the database queue by default, RQ for clinics
with several machines (docs/background_generation.md). Workers: `manage.py db_worker
--queue-name '*'` for the database queue, `manage.py rqworker default generation` for RQ.
"""

from __future__ import annotations

from django_tasks import task

GENERATION_QUEUE = "generation"


@task(queue_name=GENERATION_QUEUE)
def generate_proposal_task(proposal_id: int) -> dict:
    """Fill the queued proposal `proposal_id` by running the synchronous generator."""
    from .services.generation import run_generation

    return run_generation(proposal_id)
