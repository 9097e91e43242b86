"""The doctor's and the patient's dashboards."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .factories import PatientFactory
from .workflow_helpers import make_plan, make_proposal, make_published_plan, make_reviewed_proposal

pytestmark = pytest.mark.django_db


def test_doctor_dashboard_summarises_the_workflow(doctor_client, doctor, patient, other_doctor):
    make_proposal(patient, doctor, generation_time_seconds=7.25)
    make_reviewed_proposal(patient, doctor)
    make_proposal(patient, doctor, generation_status="running")
    make_plan(patient, doctor)
    acknowledged = make_published_plan(patient, doctor, plan_title="Acked plan")
    acknowledged.mark_patient_acknowledged()
    acknowledged.add_patient_feedback("Is grapefruit fine?")
    stranger = PatientFactory(primary_doctor=other_doctor)
    make_proposal(stranger, other_doctor)
    make_published_plan(stranger, other_doctor).add_patient_feedback("Not for you")

    response = doctor_client.get(reverse("doctor_dashboard"))
    body = response.content.decode()
    ctx = response.context
    assert response.status_code == 200
    assert ctx["pending_count"] == 1
    assert ctx["in_progress_count"] == 1
    assert ctx["draft_count"] == 1
    assert ctx["active_count"] == 1
    assert ctx["unread_feedback_count"] == 1
    assert len(ctx["ai_proposals"]) == 3
    assert "7.2s" in body or "7.3s" in body  # generation time
    assert "Pending review" in body and "Accepted" in body  # status badges
    assert "Is grapefruit fine?" in body
    assert "Not for you" not in body
    assert 'data-testid="recent-acknowledgements"' in body
    assert "Acked plan" in body
    assert "healthcare/includes/generation_in_progress.html" in [t.name for t in response.templates]


def test_doctor_dashboard_bounded_queries(
    doctor_client, doctor, patient, django_assert_max_num_queries
):
    for _ in range(25):
        make_proposal(patient, doctor)
        make_published_plan(patient, doctor).add_patient_feedback("Hello")
    with django_assert_max_num_queries(25):
        response = doctor_client.get(reverse("doctor_dashboard"))
    assert response.status_code == 200


def test_doctor_dashboard_anonymous_and_patient(client, patient_client):
    assert patient_client.get(reverse("doctor_dashboard")).status_code == 403
    patient_client.logout()
    assert client.get(reverse("doctor_dashboard")).status_code == 302


def test_patient_dashboard_bounded_queries(
    patient_client, doctor, patient, django_assert_max_num_queries
):
    for _ in range(25):
        make_published_plan(patient, doctor)
    with django_assert_max_num_queries(10):
        response = patient_client.get(reverse("patient_dashboard"))
    assert len(response.context["treatment_plans"]) == 10


def test_doctor_dashboard_shows_when_a_proposal_was_made_to_the_minute(
    doctor_client, doctor, patient
):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    proposal = make_proposal(patient, doctor)
    created = datetime(2026, 3, 5, 14, 7, tzinfo=ZoneInfo("UTC"))
    type(proposal).objects.filter(pk=proposal.pk).update(created_at=created)
    response = doctor_client.get(reverse("doctor_dashboard"))
    assert timezone.localtime(created).strftime("%b %d, %Y %H:%M").encode() in response.content


def test_doctor_dashboard_offers_review_only_for_finished_proposals(doctor_client, doctor, patient):
    make_proposal(patient, doctor, generation_status="running")
    body = doctor_client.get(reverse("doctor_dashboard")).content.decode()
    table = body.split('data-testid="recent-proposals"')[1].split("</table>")[0]
    assert "Pending review" not in table  # nothing to review while the model is writing
    assert ">Watch</a>" in table and ">Review</a>" not in table


def test_patient_dashboard_lists_plans_like_the_plans_page(patient_client, doctor, patient):
    """One partial for both lists: a revised plan says which version it is on the dashboard too."""
    from healthcare.services import plans as plan_service

    first = make_published_plan(patient, doctor, plan_title="Blood pressure plan")
    revision = plan_service.revise_plan(first, by=doctor.user)
    plan_service.publish_plan(revision, by=doctor.user)
    for name in ("patient_dashboard", "patient_treatment_plans"):
        content = patient_client.get(reverse(name)).content.decode()
        assert "Blood pressure plan" in content
        assert "version 2" in content
