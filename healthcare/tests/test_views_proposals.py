"""Doctor pages for AI proposals: list, detail, review."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthcare.models import TreatmentPlanAuditLog as Audit

from .factories import PatientFactory
from .workflow_helpers import make_plan, make_proposal, make_reviewed_proposal

pytestmark = pytest.mark.django_db


def list_url():
    return reverse("doctor_ai_proposals")


def detail_url(proposal):
    return reverse("doctor_view_ai_proposal", args=[proposal.pk])


def review_url(proposal):
    return reverse("doctor_review_ai_proposal", args=[proposal.pk])


# --- List --------------------------------------------------------------------------------------
def test_list_shows_own_proposals_with_pending_count(doctor_client, doctor, patient, other_doctor):
    make_proposal(patient, doctor)
    make_reviewed_proposal(patient, doctor)
    make_proposal(patient, doctor, generation_status="running")  # not yet reviewable
    make_proposal(PatientFactory(primary_doctor=other_doctor), other_doctor)
    response = doctor_client.get(list_url())
    assert response.status_code == 200
    assert response.context["pending_count"] == 1
    assert len(response.context["proposals"]) == 3
    assert b"IMPORTANT MEDICAL DISCLAIMER" in response.content


def test_list_filters_by_status(doctor_client, doctor, patient):
    make_proposal(patient, doctor)
    accepted = make_reviewed_proposal(patient, doctor)
    response = doctor_client.get(list_url(), {"status": "accepted"})
    assert list(response.context["proposals"]) == [accepted]
    response = doctor_client.get(list_url(), {"generation_status": "failed"})
    assert list(response.context["proposals"]) == []


def test_list_invalid_filter_shows_error_and_everything(doctor_client, doctor, patient):
    make_proposal(patient, doctor)
    response = doctor_client.get(list_url(), {"status": "bogus"})
    assert response.status_code == 200
    assert response.context["form"].errors["status"]
    assert len(response.context["proposals"]) == 1
    assert b"Select a valid choice" in response.content


def test_list_is_paginated_with_bounded_queries(
    doctor_client, doctor, patient, django_assert_max_num_queries
):
    for _ in range(45):
        make_proposal(patient, doctor)
    with django_assert_max_num_queries(12):
        response = doctor_client.get(list_url())
    assert len(response.context["proposals"]) == 20
    assert response.context["page"].paginator.num_pages == 3
    response = doctor_client.get(list_url(), {"page": 3})
    assert len(response.context["proposals"]) == 5
    assert doctor_client.get(list_url(), {"page": "junk"}).status_code == 200


def test_list_anonymous_redirects_to_login(client):
    response = client.get(list_url())
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_list_refuses_patient(patient_client):
    assert patient_client.get(list_url()).status_code == 403


# --- Detail ------------------------------------------------------------------------------------
def test_detail_shows_sections_provenance_banner_and_disclaimer(doctor_client, doctor, patient):
    proposal = make_proposal(
        patient,
        doctor,
        input_snapshot={"vitals": [{"bp": "150/95"}]},
        model_digest="sha256:abc123",
        safety_flags=["Possible prompt injection in a note"],
    )
    response = doctor_client.get(detail_url(proposal))
    body = response.content.decode()
    assert response.status_code == 200
    assert "AI draft, not reviewed" in body
    assert "IMPORTANT MEDICAL DISCLAIMER" in body
    assert proposal.medications_suggested in body
    assert "150/95" in body
    assert "sha256:abc123" in body
    assert "Possible prompt injection in a note" in body
    assert "4.2 s" in body  # generation time
    assert "1200" in body  # total tokens
    assert 'data-testid="review-form"' in body
    assert 'data-testid="create-plan-from-proposal"' not in body  # not reviewed yet
    assert 'data-testid="audit-trail"' in body


def test_detail_escapes_model_output(doctor_client, doctor, patient):
    proposal = make_proposal(
        patient,
        doctor,
        medications_suggested='<script>alert("x")</script>',
        proposed_treatment="<b>",
    )
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_detail_after_review_offers_plan_creation(doctor_client, doctor, patient):
    proposal = make_reviewed_proposal(patient, doctor)
    plan = make_plan(patient, doctor, ai_proposal=proposal, plan_title="Plan from AI")
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert "AI draft, not reviewed" not in body
    url = reverse("doctor_create_treatment_plan_from_proposal", args=[patient.pk, proposal.pk])
    assert url in body
    assert reverse("doctor_view_treatment_plan", args=[plan.pk]) in body


def test_detail_of_rejected_proposal_offers_no_plan(doctor_client, doctor, patient):
    proposal = make_reviewed_proposal(patient, doctor, status="rejected")
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert 'data-testid="create-plan-from-proposal"' not in body


@pytest.mark.parametrize("generation_status", ["queued", "running", "failed"])
def test_detail_of_unfinished_proposal_has_no_review_form(
    doctor_client, doctor, patient, generation_status
):
    proposal = make_proposal(
        patient, doctor, generation_status=generation_status, failure_reason="Ollama is down"
    )
    response = doctor_client.get(detail_url(proposal))
    assert response.status_code == 200
    assert b'data-testid="review-form"' not in response.content
    assert "healthcare/includes/generation_status.html" in [t.name for t in response.templates]
    if generation_status == "failed":
        assert b"Ollama is down" in response.content


def test_detail_of_other_doctors_proposal_is_404(doctor_client, other_doctor, patient):
    proposal = make_proposal(patient, other_doctor)
    assert doctor_client.get(detail_url(proposal)).status_code == 404


def test_detail_anonymous_and_patient(client, patient_client, doctor, patient):
    proposal = make_proposal(patient, doctor)
    assert patient_client.get(detail_url(proposal)).status_code == 403
    patient_client.logout()
    assert client.get(detail_url(proposal)).status_code == 302


# --- Review ------------------------------------------------------------------------------------
def test_review_accepts_with_note(doctor_client, doctor_user, doctor, patient):
    proposal = make_proposal(patient, doctor)
    response = doctor_client.post(
        review_url(proposal), {"decision": "accepted", "doctor_notes": "Looks right"}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail_url(proposal)
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    assert proposal.doctor_notes == "Looks right"
    assert proposal.reviewed_by == doctor_user
    assert b"Proposal marked as accepted." in response.content
    assert Audit.objects.filter(proposal=proposal, action="proposal_reviewed").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "decision"),
        ({"decision": "pending"}, "decision"),
        ({"decision": "rejected", "doctor_notes": "  "}, "doctor_notes"),
        ({"decision": "accepted", "doctor_notes": "x" * 5001}, "doctor_notes"),
    ],
)
def test_review_invalid_form_is_rerendered_with_errors(doctor_client, doctor, patient, data, field):
    proposal = make_proposal(patient, doctor)
    response = doctor_client.post(review_url(proposal), data)
    assert response.status_code == 200
    assert response.context["review_form"].errors[field]
    assert b"invalid-feedback" in response.content
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_review_of_unfinished_proposal_is_refused_with_message(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor, generation_status="running")
    response = doctor_client.post(review_url(proposal), {"decision": "accepted"}, follow=True)
    assert b"Only a finished proposal can be reviewed" in response.content
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_review_get_is_405(doctor_client, doctor, patient):
    assert doctor_client.get(review_url(make_proposal(patient, doctor))).status_code == 405


def test_review_other_doctors_proposal_is_404(doctor_client, other_doctor, patient):
    proposal = make_proposal(patient, other_doctor)
    assert doctor_client.post(review_url(proposal), {"decision": "accepted"}).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_review_anonymous_and_patient(client, patient_client, doctor, patient):
    proposal = make_proposal(patient, doctor)
    assert patient_client.post(review_url(proposal), {"decision": "accepted"}).status_code == 403
    patient_client.logout()
    assert client.post(review_url(proposal), {"decision": "accepted"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_review_requires_csrf(doctor_user, doctor, patient):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(doctor_user)
    proposal = make_proposal(patient, doctor)
    assert csrf_client.post(review_url(proposal), {"decision": "accepted"}).status_code == 403


# --- Navigation found in the browser review ---------------------------------------------------
def test_detail_links_back_to_the_patient_chart(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor)
    response = doctor_client.get(detail_url(proposal))
    chart = reverse("doctor_patient_chart", args=[patient.pk])
    assert f'href="{chart}" data-testid="proposal-patient-link"'.encode() in response.content


def test_detail_times_use_one_format(doctor_client, doctor, patient):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    started = datetime(2026, 3, 5, 14, 7, 9, tzinfo=ZoneInfo("UTC"))
    proposal = make_proposal(patient, doctor, started_at=started)
    response = doctor_client.get(detail_url(proposal))
    expected = timezone.localtime(started).strftime("%b %d, %Y %H:%M:%S")
    assert ("Started", expected) in response.context["provenance"]


def test_running_generation_shows_no_stale_badge_in_the_heading(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor, generation_status="running")
    response = doctor_client.get(detail_url(proposal))
    heading = response.content.split(b"</h1>")[1].split(b"<p")[0]
    assert b'data-testid="generation-status"' not in heading


def test_list_empty_states_and_clear_filter(doctor_client):
    response = doctor_client.get(detail_list_url())
    assert b"No AI proposals yet." in response.content
    response = doctor_client.get(detail_list_url(), {"status": "accepted"})
    assert b"No AI proposals match these filters." in response.content
    assert b'data-testid="clear-filter"' in response.content


def detail_list_url():
    return reverse("doctor_ai_proposals")


@pytest.mark.parametrize("generation_status", ["queued", "running", "failed"])
def test_unfinished_proposal_is_not_presented_as_a_draft_to_review(
    doctor_client, doctor, patient, generation_status
):
    proposal = make_proposal(patient, doctor, generation_status=generation_status)
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert "AI draft, not reviewed" not in body
    assert 'data-testid="proposal-status"' not in body


def test_failure_reason_is_shown_once(doctor_client, doctor, patient):
    reason = "The worker stopped before the generation finished."
    proposal = make_proposal(
        patient,
        doctor,
        generation_status="failed",
        failure_reason=reason,
        error_type="worker_stopped",
    )
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert body.count(reason) == 1
    assert "<code>worker_stopped</code>" in body


def test_reviewed_proposal_with_a_plan_says_what_a_new_decision_changes(
    doctor_client, doctor, patient
):
    proposal = make_reviewed_proposal(patient, doctor)
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert "Change your review" in body and 'data-testid="review-change-note"' not in body
    make_plan(patient, doctor, ai_proposal=proposal)
    body = doctor_client.get(detail_url(proposal)).content.decode()
    assert 'data-testid="review-change-note"' in body
