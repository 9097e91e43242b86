"""The Generate page, the live status endpoint and Retry (views/generation.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.conf import settings
from django.db import DatabaseError
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog
from healthcare.services import generation as service
from healthcare.tasks import generate_proposal_task

from .factories import AIProposedTreatmentPlanFactory, PatientFactory
from .generation_fakes import FAKE_TEXT, install_fake_generator

GS = AIProposedTreatmentPlan.GenerationStatus
Action = TreatmentPlanAuditLog.Action


@pytest.fixture(autouse=True)
def fake_ai(monkeypatch):
    return install_fake_generator(monkeypatch)


def generate_url(patient) -> str:
    return reverse("doctor_generate_ai_proposal", args=[patient.pk])


def status_url(proposal) -> str:
    return reverse("doctor_ai_proposal_status", args=[proposal.pk])


def retry_url(proposal) -> str:
    return reverse("doctor_retry_ai_proposal", args=[proposal.pk])


def make_proposal(patient, doctor, status, **kwargs):
    return AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status=status, **kwargs
    )


# --- The Generate page (GET) ----------------------------------------------------------------
def test_get_shows_what_will_be_sent_and_the_button(doctor_client, patient):
    response = doctor_client.get(generate_url(patient))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="data-to-send"' in body
    assert "182/95" in body  # from the de-identified summary
    assert 'data-testid="readiness-check"' in body
    assert 'data-testid="generate-ai-proposal-submit"' in body
    assert "disabled" not in body.split('data-testid="generate-ai-proposal-submit"')[1][:20]


def test_get_links_to_the_generation_in_progress(doctor_client, doctor, patient):
    running = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=timezone.now())
    response = doctor_client.get(generate_url(patient))
    assert 'data-testid="generation-already-running"' in response.content.decode()
    assert reverse("doctor_view_ai_proposal", args=[running.pk]) in response.content.decode()
    # A second click would only lead to the same running proposal: the button is off.
    body = response.content.decode()
    assert " disabled" in body.split('data-testid="generate-ai-proposal-submit"')[1][:20]


def test_get_not_ready_record_disables_the_button(doctor_client, patient, monkeypatch):
    install_fake_generator(monkeypatch, ready=False)
    body = doctor_client.get(generate_url(patient)).content.decode()
    assert "list-group-item-warning" in body
    assert " disabled" in body.split('data-testid="generate-ai-proposal-submit"')[1][:20]


def test_anonymous_is_sent_to_login(client, patient):
    response = client.get(generate_url(patient))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_patient_role_gets_403(patient_client, patient):
    assert patient_client.get(generate_url(patient)).status_code == 403
    assert patient_client.post(generate_url(patient)).status_code == 403


def test_someone_elses_patient_gets_404(doctor_client, unrelated_patient):
    assert doctor_client.get(generate_url(unrelated_patient)).status_code == 404
    assert doctor_client.post(generate_url(unrelated_patient)).status_code == 404
    assert not AIProposedTreatmentPlan.objects.exists()


def test_other_methods_are_refused(doctor_client, patient):
    assert doctor_client.put(generate_url(patient)).status_code == 405


# --- Pressing Generate (POST) ---------------------------------------------------------------
@responses.activate
def test_post_queues_and_redirects_at_once_without_calling_ollama(
    doctor_client, doctor, doctor_user, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = doctor_client.post(generate_url(patient))
    proposal = AIProposedTreatmentPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("doctor_view_ai_proposal", args=[proposal.pk])
    assert len(responses.calls) == 0  # no HTTP at all inside the request
    assert len(callbacks) == 1
    assert proposal.generation_status == GS.QUEUED
    assert proposal.provider == doctor
    assert proposal.patient == patient
    assert proposal.ai_model_name == settings.OLLAMA_MODEL
    job = DBTaskResult.objects.get()
    assert job.status == "READY"
    assert job.priority == 0  # ahead of the batch command's jobs (-10)
    assert job.queue_name == "generation"
    assert job.task_path == generate_proposal_task.module_path
    assert job.args_kwargs == {"args": [proposal.pk], "kwargs": {}}
    assert proposal.task_id == str(job.id)
    audit = TreatmentPlanAuditLog.objects.get(proposal=proposal)
    assert audit.action == Action.GENERATION_REQUESTED
    assert audit.actor == doctor_user
    assert audit.patient_id == patient.pk


def test_post_does_not_run_the_generator(doctor_client, patient, fake_ai):
    doctor_client.post(generate_url(patient))
    assert fake_ai.calls == []


def test_duplicate_clicks_make_one_job(doctor_client, patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = doctor_client.post(generate_url(patient))
        second = doctor_client.post(generate_url(patient), follow=True)
    assert AIProposedTreatmentPlan.objects.count() == 1
    assert DBTaskResult.objects.count() == 1
    assert second.redirect_chain[0][0] == first["Location"]
    messages = [str(m) for m in second.context["messages"]]
    assert any("already being generated" in m for m in messages)


def test_a_running_one_is_reused_but_a_finished_one_is_not(doctor_client, doctor, patient):
    make_proposal(patient, doctor, GS.COMPLETED)
    make_proposal(patient, doctor, GS.FAILED)
    doctor_client.post(generate_url(patient))
    assert AIProposedTreatmentPlan.objects.filter(generation_status=GS.QUEUED).count() == 1


def test_another_doctors_generation_does_not_block(doctor_client, patient, other_doctor):
    make_proposal(patient, other_doctor, GS.RUNNING, heartbeat_at=timezone.now())
    doctor_client.post(generate_url(patient))
    assert AIProposedTreatmentPlan.objects.filter(generation_status__in=["queued"]).count() == 1


def test_a_dead_generation_is_recovered_and_a_new_one_queued(doctor_client, doctor, patient):
    old = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS + 5)
    dead = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=old)
    doctor_client.post(generate_url(patient))
    dead.refresh_from_db()
    assert dead.generation_status == GS.FAILED
    assert dead.error_type == "worker_stopped"
    assert AIProposedTreatmentPlan.objects.filter(generation_status=GS.QUEUED).count() == 1


def test_post_refused_when_the_record_is_not_ready(doctor_client, patient, monkeypatch):
    install_fake_generator(monkeypatch, ready=False)
    response = doctor_client.post(generate_url(patient))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "not ready for an AI proposal" in response.content.decode()
    assert not AIProposedTreatmentPlan.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_enqueue_failure_is_recorded_and_shown(doctor_client, patient, monkeypatch):
    # Committed for real (transaction=True), so on_commit runs inside the request as in production.
    def broken(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(type(generate_proposal_task), "enqueue", broken)
    response = doctor_client.post(generate_url(patient), follow=True)
    proposal = AIProposedTreatmentPlan.objects.get()
    assert proposal.generation_status == GS.FAILED
    assert proposal.error_type == "queue_unavailable"
    assert proposal.failure_reason == service.QUEUE_UNAVAILABLE
    assert TreatmentPlanAuditLog.objects.filter(
        proposal=proposal, action=Action.GENERATION_FAILED
    ).exists()
    assert service.QUEUE_UNAVAILABLE in [str(m) for m in response.context["messages"]]


def test_database_down_gives_a_message_not_a_500(doctor_client, patient, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr("healthcare.views.generation.request_generation", broken)
    response = doctor_client.post(generate_url(patient))
    assert response.status_code == 302
    assert response["Location"] == generate_url(patient)


# --- Live status (JSON) ---------------------------------------------------------------------
def test_status_of_a_queued_proposal(doctor_client, doctor, patient):
    ahead = make_proposal(PatientFactory(), None, GS.QUEUED)
    proposal = make_proposal(patient, doctor, GS.QUEUED, raw_response="")
    assert ahead.created_at <= proposal.created_at
    data = doctor_client.get(status_url(proposal)).json()
    assert data["generation_status"] == "queued"
    assert data["label"] == "Queued"
    assert data["done"] is False
    assert data["text"] == ""
    assert data["queue_position"] == 1
    assert data["elapsed_seconds"] is not None


def test_status_of_a_running_proposal_shows_the_text_so_far(doctor_client, doctor, patient):
    proposal = make_proposal(
        patient,
        doctor,
        GS.RUNNING,
        raw_response="ASSESSMENT\nHyper",
        started_at=timezone.now() - timedelta(seconds=7),
        heartbeat_at=timezone.now(),
    )
    response = doctor_client.get(status_url(proposal))
    data = response.json()
    assert data["generation_status"] == "running"
    assert data["text"] == "ASSESSMENT\nHyper"
    assert data["done"] is False
    assert 6 <= data["elapsed_seconds"] <= 60
    assert "no-cache" in response["Cache-Control"]


def test_status_of_a_completed_proposal(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor, GS.COMPLETED, raw_response=FAKE_TEXT)
    data = doctor_client.get(status_url(proposal)).json()
    assert data["generation_status"] == "completed"
    assert data["done"] is True
    assert data["text"] == FAKE_TEXT


def test_status_of_a_failed_proposal_gives_the_reason(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor, GS.FAILED, failure_reason="Ollama is down.")
    data = doctor_client.get(status_url(proposal)).json()
    assert data["generation_status"] == "failed"
    assert data["done"] is True
    assert data["failure_reason"] == "Ollama is down."


def test_status_recovers_a_job_whose_worker_died(doctor_client, doctor, patient):
    old = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS + 1)
    proposal = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=old, started_at=old)
    data = doctor_client.get(status_url(proposal)).json()
    assert data["generation_status"] == "failed"
    assert data["done"] is True
    assert "worker stopped" in data["failure_reason"]


def test_status_access(client, doctor_user, patient_user, doctor, patient, other_doctor):
    mine = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=timezone.now())
    theirs = make_proposal(patient, other_doctor, GS.RUNNING, heartbeat_at=timezone.now())
    response = client.get(status_url(mine))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(patient_user)
    assert client.get(status_url(mine)).status_code == 403
    client.force_login(doctor_user)
    assert client.get(status_url(theirs)).status_code == 404
    assert client.post(status_url(mine)).status_code == 405


def test_status_endpoint_query_count_is_small(
    doctor_client, doctor, patient, django_assert_max_num_queries
):
    for _ in range(30):
        make_proposal(PatientFactory(), None, GS.QUEUED)
    proposal = make_proposal(patient, doctor, GS.QUEUED)
    # session, user, profile, provider, proposal, queue position; then the session save
    # (SESSION_SAVE_EVERY_REQUEST: an update inside a savepoint, 3 statements).
    with django_assert_max_num_queries(9):
        doctor_client.get(status_url(proposal))


# --- The status partial (included by the proposal page) ------------------------------------
def render_status(proposal) -> str:
    return render_to_string("healthcare/includes/generation_status.html", {"proposal": proposal})


@pytest.mark.parametrize("status", [GS.QUEUED, GS.RUNNING])
def test_partial_in_progress_polls_and_streams(doctor, patient, status):
    proposal = make_proposal(
        patient, doctor, status, raw_response="<b>partial</b> text", heartbeat_at=timezone.now()
    )
    html = render_status(proposal)
    assert f'data-status-url="{status_url(proposal)}"' in html
    assert "js/generation_status.js" in html
    assert "&lt;b&gt;partial&lt;/b&gt; text" in html  # model output is escaped, never markup
    assert "<b>partial</b>" not in html
    assert 'data-testid="retry-ai-proposal"' not in html
    assert "<script>" not in html and "style=" not in html and "onclick" not in html


def test_partial_failed_shows_reason_and_retry_without_polling(doctor, patient):
    proposal = make_proposal(patient, doctor, GS.FAILED, failure_reason="Ollama is down.")
    html = render_status(proposal)
    assert "Ollama is down." in html
    assert f'action="{retry_url(proposal)}"' in html
    assert 'data-testid="retry-ai-proposal"' in html
    assert "data-status-url" not in html
    assert "generation_status.js" not in html


@pytest.mark.parametrize("status", [GS.QUEUED, GS.RUNNING, GS.FAILED])
def test_proposal_page_includes_the_status_partial(doctor_client, doctor, patient, status):
    proposal = make_proposal(
        patient, doctor, status, heartbeat_at=timezone.now(), failure_reason="Down."
    )
    response = doctor_client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    assert response.status_code == 200
    assert 'data-testid="generation-status-panel"' in response.content.decode()


# --- Retry ----------------------------------------------------------------------------------
def test_retry_queues_a_new_attempt_and_keeps_the_failed_one(
    doctor_client, doctor, patient, django_capture_on_commit_callbacks
):
    failed = make_proposal(patient, doctor, GS.FAILED, failure_reason="Ollama is down.")
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(retry_url(failed))
    new = AIProposedTreatmentPlan.objects.exclude(pk=failed.pk).get()
    assert response["Location"] == reverse("doctor_view_ai_proposal", args=[new.pk])
    assert new.retry_of == failed
    assert new.generation_status == GS.QUEUED
    failed.refresh_from_db()
    assert failed.generation_status == GS.FAILED
    assert failed.failure_reason == "Ollama is down."
    assert DBTaskResult.objects.count() == 1


def test_retry_of_a_completed_proposal_is_refused(doctor_client, doctor, patient):
    done = make_proposal(patient, doctor, GS.COMPLETED)
    response = doctor_client.post(retry_url(done))
    assert response.status_code == 302
    assert AIProposedTreatmentPlan.objects.count() == 1


def test_retry_while_one_is_running_goes_to_it(doctor_client, doctor, patient):
    failed = make_proposal(patient, doctor, GS.FAILED)
    running = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=timezone.now())
    response = doctor_client.post(retry_url(failed))
    assert response["Location"] == reverse("doctor_view_ai_proposal", args=[running.pk])
    assert AIProposedTreatmentPlan.objects.count() == 2


def test_retry_access(client, doctor_user, patient_user, doctor, patient, other_doctor):
    mine = make_proposal(patient, doctor, GS.FAILED)
    theirs = make_proposal(patient, other_doctor, GS.FAILED)
    assert client.post(retry_url(mine)).status_code == 302
    client.force_login(patient_user)
    assert client.post(retry_url(mine)).status_code == 403
    client.force_login(doctor_user)
    assert client.get(retry_url(mine)).status_code == 405
    assert client.post(retry_url(theirs)).status_code == 404
    assert AIProposedTreatmentPlan.objects.count() == 2


def test_retry_for_a_patient_no_longer_in_care_is_404(doctor_client, doctor):
    stranger = PatientFactory()  # in nobody's care of ours
    failed = make_proposal(stranger, doctor, GS.FAILED)
    assert doctor_client.post(retry_url(failed)).status_code == 404


# --- Dashboard partial ----------------------------------------------------------------------
def render_activity(user) -> str:
    request = RequestFactory().get("/doctor/")
    request.user = user
    return render_to_string(
        "healthcare/includes/generation_in_progress.html", {"request": request}, request=request
    )


def test_dashboard_partial_lists_in_progress_and_ready(doctor, doctor_user, patient):
    make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=timezone.now())
    make_proposal(patient, doctor, GS.COMPLETED, completed_at=timezone.now())
    make_proposal(patient, doctor, GS.COMPLETED, completed_at=timezone.now() - timedelta(hours=2))
    reviewed = make_proposal(patient, doctor, GS.COMPLETED, completed_at=timezone.now())
    reviewed.mark_as_reviewed("ok", by=doctor_user)
    failed = make_proposal(patient, doctor, GS.FAILED, completed_at=timezone.now())
    retried = make_proposal(patient, doctor, GS.FAILED, completed_at=timezone.now())
    make_proposal(patient, doctor, GS.QUEUED, retry_of=retried)
    html = render_activity(doctor_user)
    assert html.count('data-testid="watch-generation"') == 2
    assert html.count('data-testid="generation-ready-notice"') == 1
    assert html.count('data-testid="generation-failed-notice"') == 1
    assert reverse("doctor_view_ai_proposal", args=[failed.pk]) in html


def test_dashboard_partial_is_empty_without_activity(doctor_user, other_doctor, patient):
    make_proposal(patient, other_doctor, GS.RUNNING, heartbeat_at=timezone.now())
    html = render_activity(doctor_user)
    assert "generation-in-progress" not in html
    assert "generation-ready-notice" not in html


def test_dashboard_shows_generations(doctor_client, doctor, patient):
    make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=timezone.now())
    body = doctor_client.get(reverse("doctor_dashboard")).content.decode()
    assert 'data-testid="generation-in-progress"' in body


def test_dashboard_partial_query_count_is_constant(
    doctor, doctor_user, django_assert_max_num_queries
):
    for _ in range(25):
        patient = PatientFactory(primary_doctor=doctor)
        make_proposal(patient, doctor, GS.QUEUED)
        make_proposal(patient, doctor, GS.COMPLETED, completed_at=timezone.now())
    with django_assert_max_num_queries(3):  # the stale check, in progress, ready
        render_activity(doctor_user)


def test_dashboard_partial_fails_a_dead_generation(doctor, doctor_user, patient):
    old = timezone.now() - timedelta(seconds=settings.GENERATION_STALE_AFTER_SECONDS + 5)
    dead = make_proposal(patient, doctor, GS.RUNNING, heartbeat_at=old)
    html = render_activity(doctor_user)
    assert 'data-testid="watch-generation"' not in html
    dead.refresh_from_db()
    assert dead.generation_status == GS.FAILED


# --- Streamed JSON shown as sections --------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("", ""),
        ("ASSESSMENT\nPlain text as it came", "ASSESSMENT\nPlain text as it came"),
        ("{", ""),
        ('{"clinical_assessment": "BP hi', "Clinical assessment\nBP hi"),
        (
            '{"clinical_assessment": "Line one\\nline \\"two\\"", "treatment_goals": "1. BP\\',
            'Clinical assessment\nLine one\nline "two"\n\nTreatment goals\n1. BP',
        ),
        ('{"medications": "caf\\u00e9 \\u00', "Medications\ncafé "),
    ],
)
def test_readable_text_of_a_partial_json_reply(raw, shown):
    assert service.readable_text(raw) == shown


def test_status_and_partial_show_sections_of_a_json_stream(doctor_client, doctor, patient):
    raw = '{"clinical_assessment": "<script>x</script> BP high", "treatment_go'
    proposal = make_proposal(
        patient, doctor, GS.RUNNING, raw_response=raw, heartbeat_at=timezone.now()
    )
    data = doctor_client.get(status_url(proposal)).json()
    assert data["text"] == raw
    assert data["display_text"] == "Clinical assessment\n<script>x</script> BP high"
    html = render_status(proposal)
    assert "Clinical assessment\n&lt;script&gt;x&lt;/script&gt; BP high" in html
