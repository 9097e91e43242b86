"""The generation service: running a queued job, heartbeat, and recovery of dead jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog
from healthcare.services import generation as service
from healthcare.tasks import generate_proposal_task

from .factories import AIProposedTreatmentPlanFactory, PatientFactory
from .generation_fakes import FAKE_DATA, FAKE_TEXT, install_fake_generator
from .pg import require_postgres

GS = AIProposedTreatmentPlan.GenerationStatus
Action = TreatmentPlanAuditLog.Action


@pytest.fixture
def fake_ai(monkeypatch):
    return install_fake_generator(monkeypatch)


def queued(patient, doctor, **kwargs):
    return AIProposedTreatmentPlanFactory(
        patient=patient,
        provider=doctor,
        generation_status=GS.QUEUED,
        proposed_treatment="",
        raw_response="",
        completed_at=None,
        **kwargs,
    )


def long_ago():
    return timezone.now() - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS + 30)


# --- run_generation (what the task does) ---------------------------------------------------
def test_the_task_runs_the_generator_on_the_queued_row(fake_ai, doctor, patient):
    proposal = queued(patient, doctor)
    outcome = generate_proposal_task.call(proposal.pk)
    proposal.refresh_from_db()
    assert outcome == {"proposal_id": proposal.pk, "generation_status": "completed"}
    assert proposal.generation_status == GS.COMPLETED
    assert proposal.raw_response == FAKE_TEXT
    assert proposal.heartbeat_at is not None
    assert fake_ai.calls == [{"patient": patient.pk, "proposal": proposal.pk}]


def test_a_generation_error_leaves_the_generators_failure(fake_ai, doctor, patient):
    fake_ai.outcome = "fail"
    proposal = queued(patient, doctor)
    outcome = service.run_generation(proposal.pk)
    proposal.refresh_from_db()
    assert outcome["generation_status"] == "failed"
    assert proposal.error_type == "ollama_unavailable"
    assert "Ollama" in proposal.failure_reason


def test_an_unexpected_crash_is_recorded_as_failed(fake_ai, doctor, patient):
    fake_ai.outcome = "crash"
    proposal = queued(patient, doctor)
    outcome = service.run_generation(proposal.pk)
    proposal.refresh_from_db()
    assert outcome["generation_status"] == "failed"
    assert proposal.error_type == "unexpected_error"
    assert proposal.failure_reason == service.UNEXPECTED
    assert TreatmentPlanAuditLog.objects.filter(
        proposal=proposal, action=Action.GENERATION_FAILED
    ).exists()


@pytest.mark.parametrize("status", [GS.RUNNING, GS.COMPLETED, GS.FAILED])
def test_a_row_that_is_not_queued_is_skipped(fake_ai, doctor, patient, status):
    proposal = AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status=status, heartbeat_at=timezone.now()
    )
    outcome = service.run_generation(proposal.pk)
    assert outcome["skipped"] is True
    assert fake_ai.calls == []


def test_a_missing_row_is_skipped(fake_ai, db):
    assert service.run_generation(999_999)["generation_status"] == "missing"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_bumps_a_silent_generation(doctor, patient):
    """The worker must look alive while the model is silent (cold load, prompt evaluation)."""
    proposal = queued(patient, doctor)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        generation_status=GS.RUNNING, heartbeat_at=long_ago()
    )
    beat = service.Heartbeat(proposal.pk, 0.05)
    beat.start()
    try:
        assert beat.beaten.wait(timeout=10)
    finally:
        beat.stop()
    assert not beat.is_alive()
    proposal.refresh_from_db()
    assert proposal.heartbeat_at > timezone.now() - timedelta(seconds=10)
    assert service.recover_stale_generations() == []


def test_heartbeat_interval_is_well_inside_the_stale_limit(settings):
    settings.GENERATION_STALE_AFTER_SECONDS = 120
    assert service.heartbeat_interval() == 30
    settings.GENERATION_STALE_AFTER_SECONDS = 2
    assert service.heartbeat_interval() == 1


# --- Recovery ------------------------------------------------------------------------------
def test_a_running_job_with_a_dead_worker_is_failed_with_the_reason(doctor, patient):
    proposal = queued(patient, doctor)
    job = generate_proposal_task.enqueue(proposal.pk)
    DBTaskResult.objects.filter(id=job.id).update(status="RUNNING")
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        generation_status=GS.RUNNING, heartbeat_at=long_ago(), task_id=str(job.id)
    )
    assert service.recover_stale_generations() == [proposal.pk]
    proposal.refresh_from_db()
    assert proposal.generation_status == GS.FAILED
    assert proposal.error_type == "worker_stopped"
    assert "worker stopped" in proposal.failure_reason
    assert proposal.completed_at is not None
    assert TreatmentPlanAuditLog.objects.filter(
        proposal=proposal, action=Action.GENERATION_FAILED
    ).exists()
    assert DBTaskResult.objects.get(id=job.id).status == "FAILED"
    assert service.recover_stale_generations() == []  # once only


def test_a_live_running_job_is_left_alone(doctor, patient):
    proposal = queued(patient, doctor)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        generation_status=GS.RUNNING, heartbeat_at=timezone.now()
    )
    assert service.recover_stale_generations() == []


def test_a_job_waiting_in_a_long_queue_is_left_alone(doctor, patient):
    proposal = queued(patient, doctor)
    job = generate_proposal_task.enqueue(proposal.pk)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        task_id=str(job.id), created_at=long_ago()
    )
    assert service.recover_stale_generations() == []


@pytest.mark.parametrize("task_state", ["never_enqueued", "task_missing", "task_finished"])
def test_a_queued_job_whose_task_is_gone_is_failed(doctor, patient, task_state):
    proposal = queued(patient, doctor)
    task_id = ""
    if task_state != "never_enqueued":
        job = generate_proposal_task.enqueue(proposal.pk)
        task_id = str(job.id)
        if task_state == "task_missing":
            DBTaskResult.objects.filter(id=job.id).delete()
        else:
            DBTaskResult.objects.filter(id=job.id).update(status="SUCCESSFUL")
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        task_id=task_id, created_at=long_ago()
    )
    assert service.recover_stale_generations() == [proposal.pk]
    proposal.refresh_from_db()
    assert proposal.error_type == "job_lost"
    assert proposal.failure_reason == service.JOB_LOST


def test_a_fresh_queued_job_without_task_is_left_alone(doctor, patient):
    queued(patient, doctor)  # enqueueing happens on commit, a moment later
    assert service.recover_stale_generations() == []


def test_recovery_can_be_narrowed_and_takes_a_custom_age(doctor, patient, other_doctor):
    mine = queued(patient, doctor)
    theirs = queued(PatientFactory(primary_doctor=other_doctor), other_doctor)
    ten_s_ago = timezone.now() - timedelta(seconds=10)
    AIProposedTreatmentPlan.objects.update(generation_status=GS.RUNNING, heartbeat_at=ten_s_ago)
    only_mine = AIProposedTreatmentPlan.objects.filter(provider=doctor)
    assert service.recover_stale_generations(only_mine) == []
    assert service.recover_stale_generations(only_mine, older_than=timedelta(seconds=5)) == [
        mine.pk
    ]
    theirs.refresh_from_db()
    assert theirs.generation_status == GS.RUNNING


def test_recover_if_stale_does_no_query_for_a_fresh_job(doctor, patient, django_assert_num_queries):
    proposal = queued(patient, doctor, heartbeat_at=timezone.now())
    with django_assert_num_queries(0):
        assert service.recover_if_stale(proposal) is False


def test_running_a_recovered_job_later_does_nothing(fake_ai, doctor, patient):
    proposal = queued(patient, doctor)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(created_at=long_ago())
    service.recover_stale_generations()  # job lost: no task
    assert service.run_generation(proposal.pk)["skipped"] is True
    assert fake_ai.calls == []


# --- Requesting ----------------------------------------------------------------------------
def test_request_generation_from_a_batch_has_no_actor(doctor, patient):
    result = service.request_generation(patient, doctor, source="batch")
    entry = TreatmentPlanAuditLog.objects.get(proposal=result.proposal)
    assert entry.actor is None
    assert entry.changes["source"] == "batch"


def test_summary_and_readiness_helpers():
    sections = dict(service.summarize_patient_data(FAKE_DATA | {"empty": None}))
    assert sections["Summary"] == ["Age: 64", "Sex: Female"]
    assert sections["Vital signs"] == ["Blood pressure: 182/95; Heart rate: 88"]
    assert sections["Allergies"] == ["None recorded"]
    assert "Empty" not in str(sections)
    checks = service.readiness_messages(
        {"vitals": False, "diagnoses": True, "medical_history": False}
    )
    assert checks == [
        (False, "At least 3 vital-sign readings: missing"),
        (True, "A diagnosis: present"),
        (False, "A medical history entry: missing"),
    ]


@pytest.mark.postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_make_one_proposal(doctor, patient):
    """Two clicks at the same moment, in two connections (the patient row lock serialises)."""
    import threading

    require_postgres()  # SQLite serialises writers
    barrier = threading.Barrier(2)
    results = []

    def click():
        try:
            barrier.wait(timeout=10)
            results.append(service.request_generation(patient, doctor).proposal.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    assert len(set(results)) == 1
    assert AIProposedTreatmentPlan.objects.count() == 1


def test_the_recovery_command(doctor, patient):
    from io import StringIO

    from django.core.management import call_command

    proposal = queued(patient, doctor)
    AIProposedTreatmentPlan.objects.filter(pk=proposal.pk).update(
        generation_status=GS.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=10)
    )
    out = StringIO()
    call_command("recover_stale_generations", stdout=out)
    assert "Recovered 0" in out.getvalue()
    call_command("recover_stale_generations", "--older-than", "5", stdout=out)
    assert f"Recovered 1 stale generation(s): proposals {proposal.pk}." in out.getvalue()
