"""Logs carry no patient identifiers, prompt text or model output (issue 6, item 5).

Every log record of every logger is captured at DEBUG level (root, "healthcare", "django",
"django.request", ...: the settings give some of them their own handlers, so caplog's root
handler alone would miss them) while a doctor generates a proposal against the stand-in
Ollama, reviews it, builds and publishes a plan, and the patient reads, acknowledges and
comments on it; then again through failures. The log text must contain none of the patient's
name, MRN, date of birth, contact details or record text, no line of the prompt, and no text of
the model's reply.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from django.urls import reverse

from healthcare.models import AIProposedTreatmentPlan, DoctorTreatmentPlan
from healthcare.services.generation import run_generation

from . import factories as f
from .hardening import (
    COMPLAINT,
    HISTORY_NOTE,
    PATIENT_FIRST,
    PATIENT_LAST,
    PATIENT_MRN,
    capture_all_logs,
    make_ready_patient,
    run_worker_task_inline,
)
from .ollama_standin import ollama_standin_fixture  # noqa: F401 - provides ollama_standin

pytestmark = pytest.mark.django_db

PHONE = "+1 555 0199 3141"
EMAIL = "zebulon.quixworth@example.org"
ADDRESS = "17 Marigold Crescent, Fernhollow"
FEEDBACK = "Quixworth feedback: the morning tablets make me dizzy after breakfast."
DOCTOR_NOTES = "Quixworth review note: agree, but start metformin later."


@pytest.fixture(autouse=True)
def _worker_task_inline(monkeypatch):
    run_worker_task_inline(monkeypatch)


@pytest.fixture
def logged_patient(doctor):
    """A patient with a login, in `doctor`'s care, with a full record and contact details."""
    patient = make_ready_patient(doctor, phone=PHONE, email=EMAIL, address=ADDRESS)
    profile = f.PatientProfileFactory(patient=patient)
    patient.refresh_from_db()
    assert patient.user_id == profile.user_id
    return patient


def _strings_of(value) -> list[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_of(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings_of(v)]
    return []


def _forbidden(patient, standin, proposals) -> list[str]:
    """What may not appear in any log line."""
    dob = patient.date_of_birth
    needles = [
        PATIENT_FIRST,
        PATIENT_LAST,
        PATIENT_MRN,
        dob.isoformat(),
        dob.strftime("%m/%d/%Y"),
        dob.strftime("%d/%m/%Y"),
        dob.strftime("%b %d, %Y"),
        dob.strftime("%B %d, %Y").replace(" 0", " "),
        PHONE,
        EMAIL,
        ADDRESS,
        COMPLAINT,
        HISTORY_NOTE,
        FEEDBACK,
        DOCTOR_NOTES,
        patient.user.username,
    ]
    # Every line of every prompt (system and user) sent to the model.
    for request in standin.generation_requests():
        body = request.body or {}
        for text in (body.get("prompt", ""), body.get("system", "")):
            needles += [line.strip() for line in text.splitlines() if len(line.strip()) >= 20]
        for message in body.get("messages", []):
            needles += [ln.strip() for ln in message["content"].splitlines() if len(ln) >= 20]
    # Every piece of text the model wrote, as received and as parsed.
    for proposal in proposals:
        proposal.refresh_from_db()
        try:
            reply = json.loads(proposal.raw_response)
            needles += [s for s in _strings_of(reply) if len(s) >= 12]
        except ValueError:
            needles += [ln.strip() for ln in proposal.raw_response.splitlines() if len(ln) >= 12]
        needles += [
            ln.strip()
            for ln in proposal.clinical_assessment.splitlines()
            + proposal.medications_suggested.splitlines()
            if len(ln.strip()) >= 12
        ]
    return [n for n in dict.fromkeys(needles) if n]


def _assert_clean(log_text: str, needles: list[str]) -> None:
    assert log_text, "the test captured no log at all: the recorder is not attached"
    leaks = [n for n in needles if n.lower() in log_text.lower()]
    assert leaks == [], f"log output contains protected text: {leaks[:5]}"


def test_a_full_generation_and_plan_cycle_logs_no_patient_data(
    ollama_standin,
    client,
    doctor_user,
    logged_patient,
    django_capture_on_commit_callbacks,
):
    patient = logged_patient
    with capture_all_logs() as logs:
        client.force_login(doctor_user)
        # Generate (web) and run the worker's task.
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("doctor_generate_ai_proposal", args=[patient.pk]))
        proposal = AIProposedTreatmentPlan.objects.get(patient=patient)
        assert run_generation(proposal.pk)["generation_status"] == "completed"
        assert client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk])).status_code == 200
        client.get(reverse("doctor_ai_proposal_status", args=[proposal.pk]))
        # Review, build a plan from it, publish.
        review = client.post(
            reverse("doctor_review_ai_proposal", args=[proposal.pk]),
            {"decision": "modified", "doctor_notes": DOCTOR_NOTES},
        )
        assert review.status_code == 302
        proposal.refresh_from_db()
        create_url = reverse(
            "doctor_create_treatment_plan_from_proposal", args=[patient.pk, proposal.pk]
        )
        form = client.get(create_url)
        assert form.status_code == 200
        data = {
            "plan_title": "Blood pressure plan",
            "assessment": proposal.clinical_assessment,
            "treatment_goals": proposal.treatment_goals,
            "medications": proposal.medications_suggested,
            "lifestyle_modifications": proposal.lifestyle_recommendations,
            "follow_up_instructions": proposal.follow_up_recommendations,
            "warning_signs": proposal.warnings_and_precautions,
            "plan_start_date": "2026-01-05",
        }
        created = client.post(create_url, data)
        assert created.status_code == 302, created.content[:2000]
        plan = DoctorTreatmentPlan.objects.get(patient=patient)
        assert client.post(reverse("doctor_publish_treatment_plan", args=[plan.pk])).status_code
        client.get(reverse("doctor_patient_chart", args=[patient.pk]))
        client.get(reverse("doctor_patients_list") + f"?q={PATIENT_LAST}")
        # A doctor without care of this patient tries: 404s are logged by django.request.
        outsider = f.DoctorProfileFactory().user
        client.force_login(outsider)
        client.get(reverse("doctor_patient_chart", args=[patient.pk]))
        client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
        # The patient reads, acknowledges, writes back; and pokes at a proposal URL (403).
        client.force_login(patient.user)
        client.get(reverse("patient_dashboard"))
        client.get(reverse("patient_view_treatment_plan", args=[plan.pk]))
        client.post(reverse("patient_acknowledge_treatment_plan", args=[plan.pk]), {})
        sent = client.post(
            reverse("patient_send_feedback", args=[plan.pk]), {"feedback_text": FEEDBACK}
        )
        assert sent.status_code == 302
        client.get(reverse("doctor_view_ai_proposal", args=[proposal.pk]))
        # A failed login with the patient's username.
        client.logout()
        client.post(reverse("login"), {"username": patient.user.username, "password": "wrong-pw"})

    assert plan.feedback_messages.count() == 1
    needles = _forbidden(patient, ollama_standin, [proposal])
    assert len(needles) > 30  # the prompt and the reply are really in the list
    _assert_clean(logs.text, needles)


@pytest.mark.parametrize(
    "mode", ["invalid_json", "error_mid_stream", "cut_mid_stream", "too_long", "not_found"]
)
def test_failed_generations_log_no_patient_data(ollama_standin, doctor, logged_patient, mode):
    """Failures are where text tends to leak into logs: a bad line, an error body, a reply."""
    from healthcare import ai_treatment_generator as ai

    patient = logged_patient
    # A reply that quotes the record, as a confused model might.
    ollama_standin.set_mode(
        mode,
        reply=f"CLINICAL ASSESSMENT:\n{PATIENT_FIRST} {PATIENT_LAST} {PATIENT_MRN} echo.\n" * 40,
    )
    with capture_all_logs() as logs, contextlib.suppress(ai.GenerationError):
        ai.TreatmentPlanGenerator(structured_output=False).generate_treatment_plan(patient, doctor)
    proposals = list(AIProposedTreatmentPlan.objects.filter(patient=patient))
    assert proposals
    needles = _forbidden(patient, ollama_standin, proposals)
    _assert_clean(logs.text, needles)


def test_the_recorder_sees_the_healthcare_loggers():
    """Guard for the test itself: records of non-propagating loggers are captured."""
    import logging

    with capture_all_logs() as logs:
        logging.getLogger("healthcare.ai").debug("probe-%s", "one")
        logging.getLogger("django.request").warning("probe-%s", "two")
        logging.getLogger("somewhere.else").info("probe-%s", "three")
    assert re.search(r"probe-one", logs.text)
    assert re.search(r"probe-two", logs.text)
    assert re.search(r"probe-three", logs.text)
