"""Background generation of AI proposals: ask, queue, run, watch, recover (issue 5).

The web request only creates the proposal row (generation_status `queued`) and enqueues
`healthcare.tasks.generate_proposal_task`; a worker process runs the synchronous generator,
which streams the model's text into `raw_response` and bumps `heartbeat_at`. This module holds
what both sides share:

- `request_generation`: one queued proposal per (patient, doctor) at a time, safe against two
  concurrent clicks (the patient row is locked while we look for one in progress).
- `run_generation`: what the task does in the worker, with a heartbeat thread so that a long
  silent phase (model load, prompt evaluation) does not look like a dead worker.
- `recover_stale_generations`: a generation whose worker died (no heartbeat for
  GENERATION_STALE_AFTER_SECONDS) or whose queued job vanished is marked failed with the reason,
  so nothing stays "running" forever. We fail it rather than re-enqueue it: the doctor sees why
  and presses Retry; a job that killed its worker (e.g. out of memory) is not run again unasked.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import AIProposedTreatmentPlan, Patient, Provider, TreatmentPlanAuditLog

logger = logging.getLogger(__name__)

Proposal = AIProposedTreatmentPlan
GS = AIProposedTreatmentPlan.GenerationStatus
Action = TreatmentPlanAuditLog.Action

WORKER_STOPPED = (
    "The worker stopped before the generation finished (no sign of life for {seconds} s). "
    "Nothing was lost: press Retry to try again."
)
JOB_LOST = (
    "The background job for this generation was lost before a worker took it. "
    "Press Retry to try again."
)
QUEUE_UNAVAILABLE = (
    "The generation could not be queued: the background task queue is unavailable. "
    "Please try again in a minute; if it persists, ask the administrator to check the worker."
)
UNEXPECTED = "An unexpected error stopped the generation. Press Retry; if it persists, tell IT."

READY_NOTICE_WINDOW = timedelta(hours=1)
# The batch command's jobs wait behind a doctor's click (on backends that order by priority,
# like the database queue; RQ runs them in arrival order).
BATCH_PRIORITY = -10


def stale_after() -> timedelta:
    return timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS)


def in_progress_for(patient: Patient, provider: Provider | None) -> QuerySet[Proposal]:
    return Proposal.objects.filter(
        patient=patient, provider=provider, generation_status__in=Proposal.IN_PROGRESS_GENERATION
    )


# --- Asking for a generation --------------------------------------------------------------
@dataclass
class GenerationRequest:
    proposal: Proposal
    created: bool  # False: one was already in progress, this is it

    @property
    def enqueue_failed(self) -> bool:
        return self.proposal.generation_status == GS.FAILED


def request_generation(
    patient: Patient,
    provider: Provider | None,
    *,
    actor=None,
    retry_of: Proposal | None = None,
    source: str = "web",
    enqueue: bool = True,
) -> GenerationRequest:
    """Create a queued proposal and enqueue its task, or return the one already in progress.

    The task is enqueued on commit, so a worker never looks for a row it cannot see yet. If
    enqueueing fails the proposal is recorded as failed with the reason (invariant 4).
    `enqueue=False` leaves the queued row for the caller to run inline (the batch's --sync).
    """
    with transaction.atomic():
        # Serialises concurrent requests for this patient (PostgreSQL row lock; SQLite takes
        # its write lock at BEGIN, see DATABASES' transaction_mode).
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
        existing = in_progress_for(patient, provider).order_by("-created_at").first()
        if existing is not None and not recover_stale_generations(
            Proposal.objects.filter(pk=existing.pk)
        ):
            return GenerationRequest(existing, created=False)
        model = settings.OLLAMA_MODEL
        proposal = Proposal.objects.create(
            patient=patient,
            provider=provider,
            retry_of=retry_of,
            generation_status=GS.QUEUED,
            ai_model_name=model,
        )
        TreatmentPlanAuditLog.record(
            Action.GENERATION_REQUESTED,
            actor=actor,
            proposal=proposal,
            changes={
                "model": model,
                "source": source,
                "retry_of": retry_of.pk if retry_of else None,
            },
        )
        if enqueue:
            priority = BATCH_PRIORITY if source == "batch" else 0
            transaction.on_commit(
                lambda: enqueue_generation(proposal, actor=actor, priority=priority)
            )
    return GenerationRequest(proposal, created=True)


def enqueue_generation(proposal: Proposal, *, actor=None, priority: int = 0) -> bool:
    from ..tasks import generate_proposal_task

    task = generate_proposal_task
    if priority and task.get_backend().supports_priority:
        task = task.using(priority=priority)
    try:
        result = task.enqueue(proposal.pk)
    except Exception as exc:  # any backend: DB locked/down, Redis refused, bad config
        logger.error("could not enqueue proposal %s: %s", proposal.pk, type(exc).__name__)
        try:
            mark_failed(proposal, QUEUE_UNAVAILABLE, "queue_unavailable", actor=actor)
        except Exception:  # the database itself is down: the caller shows the message
            proposal.generation_status = GS.FAILED
            proposal.failure_reason = QUEUE_UNAVAILABLE
        return False
    proposal.task_id = str(result.id)[:64]
    Proposal.objects.filter(pk=proposal.pk).update(task_id=proposal.task_id)
    return True


def mark_failed(
    proposal: Proposal,
    reason: str,
    error_type: str,
    *,
    actor=None,
    only_if: Q | None = None,
) -> bool:
    """Record a failure unless the row moved on meanwhile (`only_if` narrows the update)."""
    now = timezone.now()
    rows = Proposal.objects.filter(
        pk=proposal.pk, generation_status__in=Proposal.IN_PROGRESS_GENERATION
    )
    if only_if is not None:
        rows = rows.filter(only_if)
    if not rows.update(
        generation_status=GS.FAILED,
        failure_reason=reason,
        error_type=error_type,
        completed_at=now,
        updated_at=now,
    ):
        return False
    previous = proposal.generation_status
    proposal.generation_status = GS.FAILED
    proposal.failure_reason = reason
    proposal.error_type = error_type
    proposal.completed_at = now
    TreatmentPlanAuditLog.record(
        Action.GENERATION_FAILED,
        actor=actor,
        proposal=proposal,
        changes={"generation_status": [previous, GS.FAILED], "error_type": error_type},
    )
    return True


# --- Running it (inside the worker) -------------------------------------------------------
class Heartbeat(threading.Thread):
    """Bumps `heartbeat_at` while the generator works, even when the model is silent.

    The generator bumps it as text streams in; before the first token (a cold model load, a
    long prompt evaluation) minutes can pass, and a live worker must not look dead.
    """

    def __init__(self, proposal_id: int, every: float):
        super().__init__(name=f"heartbeat-{proposal_id}", daemon=True)
        self.proposal_id = proposal_id
        self.every = every
        self._stop_event = threading.Event()
        self.beaten = threading.Event()  # set after each beat (tests wait on it)

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.every):
                try:
                    Proposal.objects.filter(
                        pk=self.proposal_id,
                        generation_status__in=Proposal.IN_PROGRESS_GENERATION,
                    ).update(heartbeat_at=timezone.now())
                except Exception as exc:  # never take the generation down with us
                    # A database blip must not silence the heartbeat for good: a live job
                    # would then be failed as stale during a long model load. Next beat,
                    # on a fresh connection.
                    logger.warning(
                        "heartbeat for proposal %s missed: %s", self.proposal_id, type(exc).__name__
                    )
                    connection.close()
                    continue
                self.beaten.set()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.every + 5)


def heartbeat_interval() -> float:
    return max(1.0, min(30.0, settings.GENERATION_STALE_AFTER_SECONDS / 4))


def run_generation(proposal_id: int, *, generator=None) -> dict:
    """Run one queued generation to its end. Returns a small JSON-able outcome (ids only)."""
    from .. import ai_treatment_generator as ai

    if not connection.in_atomic_block:
        # A worker's long-lived connection may have gone stale between jobs; inside a
        # transaction (the --sync batch, tests) the connection is the caller's to keep.
        close_old_connections()
    recover_stale_generations()
    # Claim the job in one conditional UPDATE: of two workers handed the same job (enqueued
    # twice, a retried delivery), exactly one moves it out of `queued`; the other skips it.
    now = timezone.now()
    claimed = Proposal.objects.filter(pk=proposal_id, generation_status=GS.QUEUED).update(
        generation_status=GS.RUNNING, heartbeat_at=now, started_at=now, updated_at=now
    )
    if not claimed:
        # Gone, recovered as stale, or taken by another worker: nothing to do.
        status = (
            Proposal.objects.filter(pk=proposal_id).values_list("generation_status", flat=True)
        ).first() or "missing"
        logger.info("proposal %s not queued (%s): skipped", proposal_id, status)
        return {"proposal_id": proposal_id, "generation_status": status, "skipped": True}
    proposal = Proposal.objects.select_related("patient", "provider").get(pk=proposal_id)
    generator = generator or ai.TreatmentPlanGenerator(model=proposal.ai_model_name or None)
    beat = Heartbeat(proposal_id, heartbeat_interval())
    beat.start()
    try:
        generator.generate_treatment_plan(proposal.patient, proposal.provider, proposal=proposal)
    except ai.GenerationError as exc:
        # The generator has recorded the failure on the row and in the audit.
        logger.info("proposal %s failed: %s", proposal_id, exc.error_type)
    except Exception as exc:
        logger.error("proposal %s crashed: %s", proposal_id, type(exc).__name__)
        mark_failed(proposal, UNEXPECTED, "unexpected_error")
    finally:
        beat.stop()
    status = Proposal.objects.filter(pk=proposal_id).values_list("generation_status", flat=True)
    return {"proposal_id": proposal_id, "generation_status": status.first()}


# --- Recovery ------------------------------------------------------------------------------
def _queued_jobs_alive(proposals: list[Proposal]) -> dict[int, bool]:
    """Whether each queued proposal still has a task that a worker will run."""
    from ..tasks import generate_proposal_task

    alive = {p.pk: False for p in proposals}
    with_task = [p for p in proposals if p.task_id]
    if not with_task:
        return alive
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    backend = generate_proposal_task.get_backend()
    live = {"READY", "RUNNING"}
    if isinstance(backend, DatabaseBackend):
        ids = [p.task_id for p in with_task]
        statuses = dict(DBTaskResult.objects.filter(id__in=ids).values_list("id", "status"))
        statuses = {str(k): v for k, v in statuses.items()}
        for p in with_task:
            alive[p.pk] = statuses.get(p.task_id) in live
        return alive
    for p in with_task:
        try:
            alive[p.pk] = str(backend.get_result(p.task_id).status) in live
        except NotImplementedError:
            alive[p.pk] = True  # cannot tell: rely on the heartbeat alone
        except Exception as exc:
            if type(exc).__name__ == "TaskResultDoesNotExist":
                alive[p.pk] = False
            else:
                alive[p.pk] = True  # the queue is unreachable: do not guess
    return alive


def _fail_orphaned_db_task(task_id: str) -> None:
    """A killed db_worker leaves its task RUNNING forever; close it for the admin's sake."""
    try:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(id=task_id, status="RUNNING").update(
            status="FAILED",
            finished_at=timezone.now(),
            exception_class_path="healthcare.services.generation.WorkerStopped",
            traceback="The worker stopped while running this task (recovered by InHealth).",
        )
    except Exception as exc:  # not the database backend, or a bad id
        logger.debug("could not close task %s: %s", task_id, type(exc).__name__)


def recover_stale_generations(
    queryset: QuerySet[Proposal] | None = None, *, older_than: timedelta | None = None
) -> list[int]:
    """Mark failed every in-progress generation whose worker is gone. Returns their ids.

    - running or queued with a heartbeat older than the limit: the worker died mid-job;
    - queued, never picked up, older than the limit, and its task is missing or finished:
      the job was lost (enqueueing crashed, the queue was wiped).
    A queued job still waiting in the queue is left alone however long the queue is.
    """
    cutoff = timezone.now() - (stale_after() if older_than is None else older_than)
    base = Proposal.objects.all() if queryset is None else queryset
    candidates = list(
        base.filter(generation_status__in=Proposal.IN_PROGRESS_GENERATION)
        .filter(
            Q(heartbeat_at__lt=cutoff)
            | Q(generation_status=GS.QUEUED, heartbeat_at__isnull=True, created_at__lt=cutoff)
        )
        .only("pk", "patient_id", "generation_status", "heartbeat_at", "task_id")
    )
    if not candidates:
        return []
    never_started = [p for p in candidates if p.heartbeat_at is None]
    alive = _queued_jobs_alive(never_started)
    seconds = int((timezone.now() - cutoff).total_seconds())
    recovered = []
    for p in candidates:
        if p.heartbeat_at is None:
            if alive[p.pk]:
                continue
            done = mark_failed(p, JOB_LOST, "job_lost", only_if=Q(heartbeat_at__isnull=True))
        else:
            done = mark_failed(
                p,
                WORKER_STOPPED.format(seconds=seconds),
                "worker_stopped",
                only_if=Q(heartbeat_at=p.heartbeat_at),
            )
            if done and p.task_id:
                _fail_orphaned_db_task(p.task_id)
        if done:
            logger.warning("proposal %s recovered: %s", p.pk, p.error_type)
            recovered.append(p.pk)
    return recovered


def recover_if_stale(proposal: Proposal) -> bool:
    """Cheap check for one proposal (the status endpoint): queries only when it may be stale."""
    if not proposal.is_in_progress:
        return False
    cutoff = timezone.now() - stale_after()
    seen = proposal.heartbeat_at or proposal.created_at
    if seen is None or seen >= cutoff:
        return False
    if recover_stale_generations(Proposal.objects.filter(pk=proposal.pk)):
        proposal.refresh_from_db()
        return True
    return False


# --- What the doctor sees ------------------------------------------------------------------
_PAIR = re.compile(r'"([A-Za-z_]+)"\s*:\s*"((?:[^"\\]|\\.)*)', re.S)
_DANGLING_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{0,3})?$")


def readable_text(raw: str) -> str:
    """The streamed text for reading: a JSON reply (structured output), even cut off mid-way,
    becomes titled sections; anything else is shown as it is. Always plain text (no markup)."""
    if not raw.lstrip().startswith("{"):
        return raw
    from ..ai.parsing import SECTIONS

    labels = {key: label for key, _, label in SECTIONS}
    parts = []
    for key, value in _PAIR.findall(raw):
        value = _DANGLING_ESCAPE.sub("", value)
        try:
            value = json.loads(f'"{value}"')
        except ValueError:
            value = value.replace("\\n", "\n")
        parts.append(f"{labels.get(key) or key.replace('_', ' ').capitalize()}\n{value}")
    return "\n\n".join(parts)


# Bootstrap badge per generation status: the templates' filter and the live status JS (through
# status_payload's badge_class) both use this one map.
GENERATION_BADGES = {
    GS.QUEUED: "text-bg-secondary",
    GS.RUNNING: "text-bg-info",
    GS.COMPLETED: "text-bg-success",
    GS.INCOMPLETE: "text-bg-warning",
    GS.FAILED: "text-bg-danger",
}


def generation_badge_class(status: str) -> str:
    return GENERATION_BADGES.get(status, "text-bg-secondary")


def status_payload(proposal: Proposal) -> dict:
    now = timezone.now()
    since = proposal.started_at or proposal.created_at
    end = proposal.completed_at if not proposal.is_in_progress else now
    payload = {
        "proposal_id": proposal.pk,
        "generation_status": proposal.generation_status,
        "label": proposal.get_generation_status_display(),
        "badge_class": generation_badge_class(proposal.generation_status),
        "text": proposal.raw_response,
        "display_text": readable_text(proposal.raw_response),
        "failure_reason": proposal.failure_reason,
        "done": not proposal.is_in_progress,
        "elapsed_seconds": round((end - since).total_seconds(), 1) if since and end else None,
        "queue_position": None,
    }
    if proposal.generation_status == GS.QUEUED:
        payload["queue_position"] = Proposal.objects.filter(
            generation_status=GS.QUEUED, created_at__lt=proposal.created_at
        ).count()
    return payload


def doctor_generation_activity(provider: Provider) -> dict:
    """For the dashboard: the doctor's generations in progress, those ready for review and those
    that failed (not yet retried) in the last hour.
    Dead ones are failed first (one cheap query when none is), so none shows as running forever."""
    recover_stale_generations(Proposal.objects.filter(provider=provider))
    mine = Proposal.objects.filter(provider=provider).select_related("patient")
    in_progress = list(
        mine.filter(generation_status__in=Proposal.IN_PROGRESS_GENERATION).order_by("created_at")[
            :20
        ]
    )
    recent = list(
        mine.filter(
            generation_status__in=(*Proposal.FINISHED_GENERATION, GS.FAILED),
            status=Proposal.Status.PENDING,
            completed_at__gte=timezone.now() - READY_NOTICE_WINDOW,
        )
        .exclude(generation_status=GS.FAILED, retries__isnull=False)  # already retried
        .distinct()
        .order_by("-completed_at")[:10]
    )
    return {
        "in_progress": in_progress,
        "ready": [p for p in recent if p.generation_status != GS.FAILED],
        "failed": [p for p in recent if p.generation_status == GS.FAILED],
    }


SUMMARY_HIDDEN_KEYS = {"snapshot_version"}
# Bookkeeping of the snapshot, shown only when something happened.
SUMMARY_BOOKKEEPING_KEYS = {"truncated_fields", "redacted_fields", "left_out"}


def summarize_patient_data(data) -> list[tuple[str, list[str]]]:
    """Flatten the generator's de-identified data dict into titled lines for display."""

    def label(key) -> str:
        return str(key).replace("_", " ").strip().capitalize()

    def line(value) -> str:
        if isinstance(value, dict):
            return "; ".join(
                f"{label(k)}: {line(v)}" for k, v in value.items() if v not in (None, "", [], {})
            )
        if isinstance(value, list | tuple):
            return ", ".join(line(v) for v in value)
        return str(value)

    sections: list[tuple[str, list[str]]] = []
    general: list[str] = []
    for key, value in (data or {}).items():
        if key in SUMMARY_HIDDEN_KEYS or (not value and key in SUMMARY_BOOKKEEPING_KEYS):
            continue  # bookkeeping of the snapshot, not clinical data
        if isinstance(value, list | tuple):
            sections.append((label(key), [line(v) for v in value] or ["None recorded"]))
        elif isinstance(value, dict):
            lines = [f"{label(k)}: {line(v)}" for k, v in value.items() if v not in (None, "")]
            sections.append((label(key), lines or ["None recorded"]))
        elif value not in (None, ""):
            general.append(f"{label(key)}: {value}")
    if general:
        sections.insert(0, ("Summary", general))
    return sections


def readiness_messages(checks: dict[str, bool]) -> list[tuple[bool, str]]:
    """validate_patient_data_for_ai's checks as (ok, message) pairs for the Generate page."""
    from ..ai.patient_data import MISSING_DESCRIPTIONS

    out = []
    for name, ok in (checks or {}).items():
        what = MISSING_DESCRIPTIONS.get(name) or str(name).replace("_", " ")
        out.append((bool(ok), f"{what[:1].upper()}{what[1:]}: {'present' if ok else 'missing'}"))
    return out


@dataclass
class GenerationPreview:
    sections: list[tuple[str, list[str]]]
    checks: list[tuple[bool, str]]
    ready: bool
    problems: list[str]


def record_sections(patient: Patient) -> list[tuple[str, list[str]]]:
    """What would be sent to the model (de-identified), as titled lines for display."""
    from .. import ai_treatment_generator as ai

    return summarize_patient_data(ai.TreatmentPlanGenerator().gather_patient_data(patient))


def generation_preview(patient: Patient, *, with_data: bool = True) -> GenerationPreview:
    """Whether the record is ready, and (for the GET page) what will be sent, de-identified.
    `with_data=False` skips gathering the record: pressing Generate needs only the checks."""
    from .. import ai_treatment_generator as ai

    ready, raw_checks = ai.validate_patient_data_for_ai(patient)
    checks = readiness_messages(raw_checks)
    sections = record_sections(patient) if with_data else []
    problems = [message for ok, message in checks if not ok]
    return GenerationPreview(sections, checks, bool(ready), problems)
