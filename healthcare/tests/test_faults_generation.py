"""Fault tolerance of the AI path (issue 6, item 2), against the stand-in Ollama on loopback.

For every fault mode, through the real code (the generator, and the web flow: POST Generate,
then the task function as the worker runs it), the doctor sees a clear message on the proposal
page, no page answers 500, the attempt is recorded with its reason (generation status, reason,
audit row), the patient's record and earlier proposals are untouched, and a retry after the
fault clears succeeds. docs/security.md has the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.urls import reverse

from healthcare import ai_treatment_generator as ai
from healthcare.models import AIProposedTreatmentPlan, TreatmentPlanAuditLog
from healthcare.services.generation import run_generation

from . import factories as f
from .hardening import (
    make_ready_patient,
    proposals_snapshot,
    record_snapshot,
    run_worker_task_inline,
)
from .ollama_standin import (
    default_reply,
    ollama_standin_fixture,  # noqa: F401 - provides ollama_standin
)

pytestmark = pytest.mark.django_db

GS = AIProposedTreatmentPlan.GenerationStatus
Action = TreatmentPlanAuditLog.Action


@dataclass(frozen=True)
class Expected:
    status: str  # generation_status after the attempt
    error_type: str  # stored on the proposal and in the audit ("" when not failed)
    exception: type[ai.GenerationError] | None  # what the generator raises
    words: tuple[str, ...]  # the message the doctor reads contains these (case-insensitive)


# The behaviour the tests verify, per fault mode of the stand-in (the table in docs/security.md).
FAULTS: dict[str, Expected] = {
    "refused": Expected(
        GS.FAILED, "ollama_unavailable", ai.OllamaUnavailableError, ("cannot be reached", "start")
    ),
    "hang": Expected(
        GS.FAILED, "ollama_timeout", ai.OllamaTimeoutError, ("did not answer", "try again")
    ),
    "slow": Expected(GS.FAILED, "ollama_timeout", ai.OllamaTimeoutError, ("did not answer",)),
    "not_found": Expected(
        GS.FAILED, "model_not_found", ai.OllamaModelNotFoundError, ("ollama pull llama3.2",)
    ),
    "server_error": Expected(
        GS.FAILED, "ollama_server_error", ai.OllamaServerError, ("HTTP 500", "server's log")
    ),
    "busy": Expected(GS.FAILED, "ollama_busy", ai.OllamaBusyError, ("busy", "try again")),
    "invalid_json": Expected(
        GS.FAILED, "ollama_bad_response", ai.OllamaResponseError, ("malformed",)
    ),
    "error_mid_stream": Expected(
        GS.FAILED, "ollama_server_error", ai.OllamaServerError, ("stopped with an error",)
    ),
    "cut_mid_stream": Expected(
        GS.FAILED, "ollama_bad_response", ai.OllamaResponseError, ("stream cut",)
    ),
    "empty": Expected(
        GS.FAILED, "ollama_bad_response", ai.OllamaResponseError, ("before finishing",)
    ),
    "empty_text": Expected(GS.FAILED, "ollama_bad_response", ai.OllamaResponseError, ("empty",)),
    "too_long": Expected(GS.INCOMPLETE, "", None, ("length limit",)),
}


@pytest.fixture(autouse=True)
def _worker_task_inline(monkeypatch):
    run_worker_task_inline(monkeypatch)


@pytest.fixture
def ready_patient(doctor):
    return make_ready_patient(doctor)


@pytest.fixture
def earlier_proposal(ready_patient, doctor, doctor_user):
    """A finished, reviewed proposal from before: a failure must not touch it."""
    proposal = f.AIProposedTreatmentPlanFactory(patient=ready_patient, provider=doctor)
    proposal.mark_as_accepted("Looks right.", by=doctor_user)
    return proposal


def _message_of(proposal: AIProposedTreatmentPlan) -> str:
    return (
        proposal.failure_reason
        if proposal.generation_status == GS.FAILED
        else (proposal.incomplete_reason)
    )


def _assert_recorded(proposal: AIProposedTreatmentPlan, expected: Expected) -> None:
    proposal.refresh_from_db()
    assert proposal.generation_status == expected.status, proposal.failure_reason
    assert proposal.error_type == expected.error_type
    message = _message_of(proposal)
    assert message, "the reason is recorded on the proposal"
    for word in expected.words:
        assert word.lower() in message.lower(), message
    assert proposal.completed_at is not None
    assert proposal.attempts >= 1
    action = (
        Action.GENERATION_FAILED if expected.status == GS.FAILED else (Action.GENERATION_INCOMPLETE)
    )
    entry = TreatmentPlanAuditLog.objects.filter(proposal=proposal, action=action).get()
    if expected.status == GS.FAILED:
        assert entry.changes["error_type"] == expected.error_type
        assert entry.changes["reason"] == proposal.failure_reason
    else:
        assert entry.changes["incomplete_reason"] == proposal.incomplete_reason


def _visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- The generator on its own -----------------------------------------------------------------
@pytest.mark.parametrize("mode", list(FAULTS))
def test_generator_records_each_fault(
    mode, ollama_standin, ready_patient, doctor, earlier_proposal
):
    expected = FAULTS[mode]
    record = record_snapshot(ready_patient)
    before = proposals_snapshot(ready_patient)
    ollama_standin.mode = mode

    generator = ai.TreatmentPlanGenerator()
    if expected.exception is None:
        proposal = generator.generate_treatment_plan(ready_patient, doctor)
    else:
        with pytest.raises(expected.exception) as caught:
            generator.generate_treatment_plan(ready_patient, doctor)
        assert caught.value.error_type == expected.error_type
        proposal = AIProposedTreatmentPlan.objects.exclude(pk__in=before).get()

    _assert_recorded(proposal, expected)
    assert record_snapshot(ready_patient) == record
    after = proposals_snapshot(ready_patient)
    assert {pk: after[pk] for pk in before} == before

    # The fault clears: the next attempt succeeds.
    ollama_standin.mode = "ok"
    retried = ai.TreatmentPlanGenerator().generate_treatment_plan(ready_patient, doctor)
    assert retried.generation_status == GS.COMPLETED, retried.incomplete_reason
    assert retried.clinical_assessment
    assert record_snapshot(ready_patient) == record


# --- The web flow -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(FAULTS))
def test_web_flow_shows_each_fault_and_retry_succeeds(
    mode,
    ollama_standin,
    doctor_client,
    ready_patient,
    earlier_proposal,
    django_capture_on_commit_callbacks,
):
    expected = FAULTS[mode]
    record = record_snapshot(ready_patient)
    before = proposals_snapshot(ready_patient)
    ollama_standin.mode = mode

    # The doctor presses Generate; the worker runs the task.
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(
            reverse("doctor_generate_ai_proposal", args=[ready_patient.pk])
        )
    assert response.status_code == 302
    proposal = AIProposedTreatmentPlan.objects.exclude(pk__in=before).get()
    assert response.url == reverse("doctor_view_ai_proposal", args=[proposal.pk])
    outcome = run_generation(proposal.pk)
    assert outcome["generation_status"] == expected.status

    _assert_recorded(proposal, expected)
    assert record_snapshot(ready_patient) == record
    after = proposals_snapshot(ready_patient)
    assert {pk: after[pk] for pk in before} == before

    # What the doctor sees: the proposal page with the reason, the status endpoint, the lists.
    page = doctor_client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    assert page.status_code == 200
    testid = "failure-reason" if expected.status == GS.FAILED else "incomplete-reason"
    assert f'data-testid="{testid}"' in page.text
    shown = _visible_text(page.content.decode())
    message = _message_of(proposal)
    assert _visible_text(str(_escape(message))) in shown
    status = doctor_client.get(reverse("doctor_ai_proposal_status", args=[proposal.pk]))
    assert status.status_code == 200
    assert status.json()["done"] is True
    if expected.status == GS.FAILED:
        assert status.json()["failure_reason"] == proposal.failure_reason
    for name, args in [
        ("doctor_ai_proposals", []),
        ("doctor_dashboard", []),
        ("doctor_patient_chart", [ready_patient.pk]),
        ("doctor_generate_ai_proposal", [ready_patient.pk]),
    ]:
        assert doctor_client.get(reverse(name, args=args)).status_code == 200, name

    # The fault clears; the doctor presses Retry: a new attempt, linked to the failed one.
    ollama_standin.mode = "ok"
    with django_capture_on_commit_callbacks(execute=True):
        response = doctor_client.post(reverse("doctor_retry_ai_proposal", args=[proposal.pk]))
    assert response.status_code == 302
    retry = AIProposedTreatmentPlan.objects.exclude(pk__in=[*before, proposal.pk]).get()
    assert retry.retry_of_id == proposal.pk
    assert run_generation(retry.pk)["generation_status"] == GS.COMPLETED
    retry.refresh_from_db()
    assert retry.clinical_assessment
    page = doctor_client.get(reverse("doctor_view_ai_proposal", args=[retry.pk]))
    assert page.status_code == 200
    assert 'data-testid="proposal-sections"' in page.text
    # The failed attempt stays as it was recorded.
    proposal_before_retry = proposals_snapshot(ready_patient)[proposal.pk]
    assert proposal_before_retry["generation_status"] == expected.status
    assert record_snapshot(ready_patient) == record


def _escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)


def test_every_stand_in_fault_mode_is_covered():
    from .ollama_standin import FAULT_MODES

    assert set(FAULTS) == set(FAULT_MODES) - {"ok"}


# --- Hostile model output through the real generator ------------------------------------------
def test_a_reply_with_nul_characters_completes_without_them(ollama_standin, ready_patient, doctor):
    ollama_standin.set_mode(
        "ok", reply="CLINICAL ASSESSMENT:\nnul \x00 here\nMEDICATIONS:\nlisinopril\x00 10 mg"
    )
    proposal = ai.TreatmentPlanGenerator(structured_output=False).generate_treatment_plan(
        ready_patient, doctor
    )
    proposal.refresh_from_db()
    assert proposal.generation_status in AIProposedTreatmentPlan.FINISHED_GENERATION
    texts = [proposal.raw_response, proposal.proposed_treatment, proposal.clinical_assessment]
    assert not any("\x00" in text for text in texts)
    assert "lisinopril 10 mg" in proposal.medications_suggested


def test_markup_from_the_model_is_escaped_on_the_proposal_page(
    ollama_standin, ready_patient, doctor, doctor_client
):
    from .test_hostile_input_xss import injected_tags

    markup = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    ollama_standin.set_mode("ok", reply=lambda body: default_reply(body).replace("Standin", markup))
    proposal = ai.TreatmentPlanGenerator().generate_treatment_plan(ready_patient, doctor)
    assert "<script>" in proposal.clinical_assessment
    page = doctor_client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
    assert page.status_code == 200
    assert injected_tags(page.content.decode()) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content.decode()
    status = doctor_client.get(reverse("doctor_ai_proposal_status", args=[proposal.pk]))
    assert status["Content-Type"].startswith("application/json")
