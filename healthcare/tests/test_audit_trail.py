"""Every workflow action writes an audit row (actor, time, changed fields); doctors see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthcare.models import TreatmentPlanAuditLog as Audit

from .workflow_helpers import (
    make_plan,
    make_proposal,
    make_published_plan,
    make_reviewed_proposal,
    plan_form_data,
)

pytestmark = pytest.mark.django_db


def test_each_web_action_is_audited_with_actor(client, doctor_user, patient_user, doctor, patient):
    client.force_login(doctor_user)
    proposal = make_proposal(patient, doctor)
    client.post(
        reverse("doctor_review_ai_proposal", args=[proposal.pk]),
        {"decision": "accepted", "doctor_notes": "fine"},
    )
    client.post(
        reverse("doctor_create_treatment_plan_from_proposal", args=[patient.pk, proposal.pk]),
        plan_form_data(),
    )
    plan = patient.treatment_plans.get()
    client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]), plan_form_data(plan_title="T2")
    )
    client.post(reverse("doctor_publish_treatment_plan", args=[plan.pk]))
    client.post(reverse("doctor_revise_treatment_plan", args=[plan.pk]))
    revision = plan.next_version
    client.post(reverse("doctor_publish_treatment_plan", args=[revision.pk]))
    client.post(reverse("doctor_complete_treatment_plan", args=[revision.pk]))
    other = make_plan(patient, doctor)
    client.post(reverse("doctor_cancel_treatment_plan", args=[other.pk]))

    client.force_login(patient_user)
    client.get(reverse("patient_view_treatment_plan", args=[plan.pk]))
    client.post(reverse("patient_acknowledge_treatment_plan", args=[plan.pk]))
    client.post(reverse("patient_send_feedback", args=[plan.pk]), {"feedback_text": "Thanks"})

    expected = {
        (Audit.Action.PROPOSAL_REVIEWED, doctor_user),
        (Audit.Action.PLAN_CREATED, doctor_user),
        (Audit.Action.PLAN_EDITED, doctor_user),
        (Audit.Action.PLAN_PUBLISHED, doctor_user),
        (Audit.Action.PLAN_REVISED, doctor_user),
        (Audit.Action.PLAN_SUPERSEDED, doctor_user),
        (Audit.Action.PLAN_COMPLETED, doctor_user),
        (Audit.Action.PLAN_CANCELLED, doctor_user),
        (Audit.Action.PATIENT_VIEWED, patient_user),
        (Audit.Action.PATIENT_ACKNOWLEDGED, patient_user),
        (Audit.Action.PATIENT_FEEDBACK, patient_user),
    }
    recorded = {(entry.action, entry.actor) for entry in Audit.objects.select_related("actor")}
    assert expected <= recorded
    assert all(entry.patient_id == patient.pk for entry in Audit.objects.all())
    edited = Audit.objects.get(action=Audit.Action.PLAN_EDITED)
    assert edited.changes["plan_title"][1] == "T2"
    assert edited.timestamp is not None


def test_plan_page_shows_trail_with_changed_fields(doctor_client, doctor_user, doctor, patient):
    plan = make_plan(patient, doctor)
    doctor_client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]),
        plan_form_data(plan_title="Renamed <plan>"),
    )
    body = doctor_client.get(reverse("doctor_view_treatment_plan", args=[plan.pk])).content.decode()
    assert 'data-testid="audit-trail"' in body
    assert "Plan edited" in body
    assert "Hypertension Management Plan → Renamed &lt;plan&gt;" in body
    assert doctor_user.get_full_name() in body


def test_proposal_page_shows_review_in_trail(doctor_client, doctor, patient):
    proposal = make_proposal(patient, doctor)
    doctor_client.post(
        reverse("doctor_review_ai_proposal", args=[proposal.pk]),
        {"decision": "rejected", "doctor_notes": "Wrong drug"},
    )
    body = doctor_client.get(
        reverse("doctor_view_ai_proposal", args=[proposal.pk])
    ).content.decode()
    assert "AI proposal reviewed" in body
    assert "pending → rejected" in body
    assert "Wrong drug" in body


def test_trail_cuts_long_values(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    doctor_client.post(
        reverse("doctor_edit_treatment_plan", args=[plan.pk]),
        plan_form_data(assessment="A" * 1000),
    )
    body = doctor_client.get(reverse("doctor_view_treatment_plan", args=[plan.pk])).content.decode()
    assert "A" * 299 + "…" in body


def test_audit_trail_is_not_on_patient_pages(patient_client, doctor, patient):
    plan = make_published_plan(patient, doctor)
    make_reviewed_proposal(patient, doctor)
    for url in (
        reverse("patient_dashboard"),
        reverse("patient_treatment_plans"),
        reverse("patient_view_treatment_plan", args=[plan.pk]),
    ):
        body = patient_client.get(url).content.decode()
        assert 'data-testid="audit-trail"' not in body
        assert "Plan published" not in body
