"""Plan lifecycle services and the proposal review service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.query import QuerySet
from django.utils import timezone

from healthcare.models import DoctorTreatmentPlan
from healthcare.models import TreatmentPlanAuditLog as Audit
from healthcare.permissions import plans_for_patient
from healthcare.services import plans as service
from healthcare.services.plans import PlanActionError
from healthcare.services.reviews import ReviewError, review_proposal

from .workflow_helpers import (
    actions,
    make_plan,
    make_proposal,
    make_published_plan,
    make_reviewed_proposal,
)

pytestmark = pytest.mark.django_db

DATA = {"plan_title": "BP plan", "assessment": "Hypertension.", "medications": "Lisinopril"}


def test_create_from_scratch_is_an_audited_draft(doctor, doctor_user, patient):
    plan = service.create_plan(patient=patient, provider=doctor, data=DATA, by=doctor_user)
    assert plan.status == "draft"
    assert plan.is_visible_to_patient is False
    entry = Audit.objects.get(plan=plan)
    assert entry.action == Audit.Action.PLAN_CREATED
    assert entry.actor == doctor_user
    assert entry.changes["plan_title"] == [None, "BP plan"]
    assert "ai_proposal" not in entry.changes


def test_create_from_reviewed_proposal_marks_it_used(doctor, doctor_user, patient):
    proposal = make_reviewed_proposal(patient, doctor, status="reviewed")
    plan = service.create_plan(
        patient=patient, provider=doctor, data=DATA, by=doctor_user, proposal=proposal
    )
    proposal.refresh_from_db()
    assert plan.ai_proposal == proposal
    assert proposal.used_at is not None
    assert Audit.objects.get(plan=plan).changes["ai_proposal"] == proposal.pk


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "pending"}, "must be reviewed"),
        ({"status": "rejected"}, "rejected"),
        ({"status": "accepted", "generation_status": "running"}, "not finished"),
    ],
)
def test_create_refuses_unusable_proposal(doctor, doctor_user, patient, overrides, message):
    proposal = make_proposal(patient, doctor, **overrides)
    with pytest.raises(PlanActionError, match=message):
        service.create_plan(
            patient=patient, provider=doctor, data=DATA, by=doctor_user, proposal=proposal
        )
    assert not DoctorTreatmentPlan.objects.exists()
    proposal.refresh_from_db()
    assert proposal.used_at is None


def test_create_refuses_another_patients_proposal(doctor, doctor_user, patient):
    from .factories import PatientFactory

    second = PatientFactory(primary_doctor=doctor)
    proposal = make_reviewed_proposal(second, doctor)
    with pytest.raises(PlanActionError, match="another patient"):
        service.create_plan(
            patient=patient, provider=doctor, data=DATA, by=doctor_user, proposal=proposal
        )
    assert not DoctorTreatmentPlan.objects.exists()


def test_create_refuses_another_doctors_proposal(doctor, doctor_user, patient, other_doctor):
    proposal = make_reviewed_proposal(patient, other_doctor)
    with pytest.raises(PlanActionError, match="another doctor"):
        service.create_plan(
            patient=patient, provider=doctor, data=DATA, by=doctor_user, proposal=proposal
        )


def test_update_draft_audits_the_diff(doctor, doctor_user, patient):
    plan = make_plan(patient, doctor)
    changes = service.update_draft(
        plan, {"plan_title": "New title", "assessment": plan.assessment}, by=doctor_user
    )
    assert changes == {"plan_title": ["Hypertension Management Plan", "New title"]}
    entry = Audit.objects.get(plan=plan, action=Audit.Action.PLAN_EDITED)
    assert entry.changes == {"plan_title": ["Hypertension Management Plan", "New title"]}
    assert service.update_draft(plan, {"plan_title": "New title"}, by=doctor_user) == {}
    assert actions(plan=plan).count(Audit.Action.PLAN_EDITED) == 1


def test_update_refused_unless_draft(doctor, doctor_user, patient):
    plan = make_published_plan(patient, doctor)
    with pytest.raises(PlanActionError, match="Only a draft"):
        service.update_draft(plan, {"plan_title": "x"}, by=doctor_user)


def test_publish_only_drafts(doctor, doctor_user, patient):
    plan = make_plan(patient, doctor)
    service.publish_plan(plan, by=doctor_user)
    plan.refresh_from_db()
    assert plan.status == "active"
    with pytest.raises(PlanActionError):
        service.publish_plan(plan, by=doctor_user)


def test_revise_links_both_ways_and_supersedes_on_publish(doctor, doctor_user, patient):
    old = make_published_plan(patient, doctor)
    old.add_patient_feedback("Question on v1")
    new = service.revise_plan(old, by=doctor_user)

    assert new.status == "draft"
    assert new.version == 2
    assert new.previous_version == old
    old.refresh_from_db()
    assert old.next_version == new
    assert old.status == "active"  # still current until the revision is published
    assert new.medications == old.medications
    assert Audit.objects.get(plan=new, action="plan_revised").changes["previous_version"] == old.pk

    service.publish_plan(new, by=doctor_user)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == "superseded"
    assert old.superseded_at is not None
    assert new.status == "active"
    chain = DoctorTreatmentPlan.objects.filter(pk__in=[old.pk, new.pk], status="active")
    assert list(chain) == [new]  # exactly one current version
    # The old version stays readable by the patient, with its feedback history.
    assert old in plans_for_patient(patient)
    assert list(old.feedback_messages.values_list("message", flat=True)) == ["Question on v1"]


def test_second_revision_refused(doctor, doctor_user, patient):
    old = make_published_plan(patient, doctor)
    service.revise_plan(old, by=doctor_user)
    with pytest.raises(PlanActionError, match="already has a revision"):
        service.revise_plan(old, by=doctor_user)
    assert DoctorTreatmentPlan.objects.filter(previous_version=old).count() == 1


def test_concurrent_second_revision_integrity_error_is_a_clear_message(
    doctor, doctor_user, patient, monkeypatch
):
    """Two requests pass the check at once: the one-to-one link refuses the second."""
    old = make_published_plan(patient, doctor)
    service.revise_plan(old, by=doctor_user)
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    with pytest.raises(PlanActionError, match="already has a revision"):
        service.revise_plan(old, by=doctor_user)
    monkeypatch.undo()
    assert DoctorTreatmentPlan.objects.filter(previous_version=old).count() == 1


@pytest.mark.parametrize("status", ["draft", "completed", "cancelled", "superseded"])
def test_revise_refused_unless_active(doctor, doctor_user, patient, status):
    plan = make_plan(patient, doctor, status=status)
    with pytest.raises(PlanActionError, match="Only an active plan"):
        service.revise_plan(plan, by=doctor_user)


def test_complete_active_plan(doctor, doctor_user, patient):
    plan = make_published_plan(patient, doctor)
    service.complete_plan(plan, by=doctor_user)
    plan.refresh_from_db()
    assert plan.status == "completed"
    assert plan.completed_at is not None
    assert plan in plans_for_patient(patient)
    with pytest.raises(PlanActionError):
        service.complete_plan(plan, by=doctor_user)
    with pytest.raises(PlanActionError):
        service.complete_plan(make_plan(patient, doctor), by=doctor_user)


def test_cancel_draft_and_active(doctor, doctor_user, patient):
    for plan in (make_plan(patient, doctor), make_published_plan(patient, doctor)):
        service.cancel_plan(plan, by=doctor_user)
        plan.refresh_from_db()
        assert plan.status == "cancelled"
        assert plan.cancelled_at is not None
        assert actions(plan=plan)[-1] == Audit.Action.PLAN_CANCELLED
        with pytest.raises(PlanActionError):
            service.cancel_plan(plan, by=doctor_user)


def test_cancelled_draft_revision_frees_the_version_for_a_new_revision(
    doctor, doctor_user, patient
):
    old = make_published_plan(patient, doctor)
    first = service.revise_plan(old, by=doctor_user)
    service.cancel_plan(first, by=doctor_user)
    first.refresh_from_db()
    assert first.previous_version is None
    entry = Audit.objects.get(plan=first, action="plan_cancelled")
    assert entry.changes["previous_version"] == [old.pk, None]
    second = service.revise_plan(old, by=doctor_user)
    assert second.previous_version == old


def test_mark_feedback_read(doctor, patient):
    plan = make_published_plan(patient, doctor)
    plan.add_patient_feedback("One")
    plan.add_patient_feedback("Two")
    assert plan.unread_feedback_count == 2
    assert service.mark_feedback_read(plan) == 2
    assert plan.unread_feedback_count == 0


def test_initial_from_proposal_prefills_sections(doctor, patient):
    proposal = make_reviewed_proposal(patient, doctor)
    initial = service.initial_from_proposal(proposal)
    assert initial["medications"] == proposal.medications_suggested
    assert initial["assessment"] == proposal.clinical_assessment
    assert initial["warning_signs"] == proposal.warnings_and_precautions


# --- Review ----------------------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["reviewed", "accepted", "modified", "rejected"])
def test_review_records_decision_and_audit(doctor, doctor_user, patient, decision):
    proposal = make_proposal(patient, doctor)
    review_proposal(proposal, decision, "My notes", by=doctor_user)
    proposal.refresh_from_db()
    assert proposal.status == decision
    assert proposal.doctor_notes == "My notes"
    assert proposal.reviewed_by == doctor_user
    assert proposal.reviewed_at > timezone.now() - timedelta(minutes=1)
    entry = Audit.objects.get(proposal=proposal)
    assert entry.action == Audit.Action.PROPOSAL_REVIEWED
    assert entry.actor == doctor_user
    assert entry.changes["status"] == ["pending", decision]


@pytest.mark.parametrize("generation_status", ["queued", "running", "failed"])
def test_review_refused_for_unfinished_proposal(doctor, doctor_user, patient, generation_status):
    proposal = make_proposal(patient, doctor, generation_status=generation_status)
    with pytest.raises(ReviewError, match="finished"):
        review_proposal(proposal, "accepted", "", by=doctor_user)
    proposal.refresh_from_db()
    assert proposal.status == "pending"


def test_review_refuses_unknown_decision(doctor, doctor_user, patient):
    with pytest.raises(ReviewError):
        review_proposal(make_proposal(patient, doctor), "pending", "", by=doctor_user)
