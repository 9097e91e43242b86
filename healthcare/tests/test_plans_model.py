"""DoctorTreatmentPlan methods, including the specification's usage examples run as written."""

from __future__ import annotations

import pytest

from healthcare.models import AIProposedTreatmentPlan, DoctorTreatmentPlan, PlanFeedback
from healthcare.models import TreatmentPlanAuditLog as Audit
from healthcare.permissions import plans_for_patient

from .workflow_helpers import actions, make_plan, make_published_plan, make_reviewed_proposal

pytestmark = pytest.mark.django_db


def test_spec_example_create_plan_from_ai_proposal_and_publish(doctor, patient):
    proposal_id = make_reviewed_proposal(patient, doctor).proposal_id
    # --- as written in the specification (Usage Examples, 3) ---
    ai_proposal = AIProposedTreatmentPlan.objects.get(proposal_id=proposal_id)
    plan = DoctorTreatmentPlan.objects.create(
        patient=ai_proposal.patient,
        provider=ai_proposal.provider,
        ai_proposal=ai_proposal,
        plan_title="Hypertension Management Plan",
        assessment="Patient has uncontrolled hypertension...",
        treatment_goals="1. Reduce BP to <130/80\n2. Improve medication compliance",
        medications=ai_proposal.medications_suggested,
        lifestyle_modifications="Based on AI: " + ai_proposal.lifestyle_recommendations,
        follow_up_instructions="Follow up in 2 weeks for BP check",
        status="draft",
    )
    plan.publish_to_patient()
    # ---
    plan.refresh_from_db()
    assert plan.status == "active"
    assert plan.is_visible_to_patient is True
    assert plan.published_at is not None
    assert plan.is_current()
    entry = Audit.objects.get(plan=plan, action=Audit.Action.PLAN_PUBLISHED)
    assert entry.actor == doctor.user
    assert entry.changes["status"] == ["draft", "active"]


def test_spec_example_create_plan_from_scratch(doctor, patient):
    plan = DoctorTreatmentPlan.objects.create(
        patient=patient,
        provider=doctor,
        plan_title="Diabetes Management Plan",
        assessment="Type 2 diabetes, A1C 8.5%",
        treatment_goals="Lower A1C to <7.0%",
        medications="Metformin 1000mg BID\nGlipizide 5mg daily",
        lifestyle_modifications="Low carb diet, 30min exercise daily",
        dietary_recommendations="Limit carbs to 150g/day, avoid sugary drinks",
        exercise_recommendations="Walk 30 minutes after meals",
        follow_up_instructions="Lab work in 3 months, office visit in 1 month",
        warning_signs="Severe hypoglycemia, DKA symptoms",
        emergency_instructions="Call 911 if unconscious or blood sugar <50",
        status="draft",
    )
    plan.publish_to_patient()
    assert (
        DoctorTreatmentPlan.objects.filter(
            patient=patient, is_visible_to_patient=True, status="active"
        ).get()
        == plan
    )


def test_spec_example_patient_views_acknowledges_and_sends_feedback(doctor, patient):
    published = make_published_plan(patient, doctor)
    active_plans = DoctorTreatmentPlan.objects.filter(
        patient=patient, is_visible_to_patient=True, status="active"
    ).order_by("-created_at")
    for plan in active_plans:
        plan.mark_patient_viewed()
    plan = DoctorTreatmentPlan.objects.get(plan_id=published.pk)
    plan.mark_patient_acknowledged()
    plan.patient_feedback = "I have a question about the medication schedule"
    plan.save()

    plan.refresh_from_db()
    assert plan.patient_viewed_at is not None
    assert plan.patient_acknowledged_at is not None
    assert [f.message for f in plan.feedback_messages.all()] == [
        "I have a question about the medication schedule"
    ]
    assert actions(plan=plan)[-3:] == [
        Audit.Action.PATIENT_VIEWED,
        Audit.Action.PATIENT_ACKNOWLEDGED,
        Audit.Action.PATIENT_FEEDBACK,
    ]
    assert Audit.objects.filter(plan=plan, action="patient_feedback").get().actor == patient.user


@pytest.mark.parametrize("status", ["cancelled", "completed", "superseded"])
def test_publish_refused_from_closed_states(doctor, patient, status):
    plan = make_plan(patient, doctor, status=status)
    with pytest.raises(ValueError, match="cannot be published"):
        plan.publish_to_patient()
    plan.refresh_from_db()
    assert plan.status == status
    assert plan.is_visible_to_patient is False
    assert not Audit.objects.filter(plan=plan).exists()


def test_publish_twice_changes_nothing_the_second_time(doctor, patient):
    plan = make_published_plan(patient, doctor)
    first = plan.published_at
    plan.publish_to_patient()
    assert plan.published_at == first
    assert actions(plan=plan) == [Audit.Action.PLAN_PUBLISHED]


def test_publish_records_given_actor(doctor, patient, other_doctor):
    plan = make_plan(patient, doctor)
    plan.publish_to_patient(by=other_doctor.user)
    assert Audit.objects.get(plan=plan).actor == other_doctor.user


def test_mark_patient_viewed_only_first_view_counts(doctor, patient):
    plan = make_published_plan(patient, doctor)
    stale = DoctorTreatmentPlan.objects.get(pk=plan.pk)  # a second tab, loaded before the view
    assert plan.mark_patient_viewed() is True
    first = plan.patient_viewed_at
    assert plan.mark_patient_viewed() is False
    assert stale.mark_patient_viewed() is False
    assert stale.patient_viewed_at == first
    plan.refresh_from_db()
    assert plan.patient_viewed_at == first
    assert actions(plan=plan).count(Audit.Action.PATIENT_VIEWED) == 1
    assert Audit.objects.get(plan=plan, action="patient_viewed").actor == patient.user


def test_acknowledge_once_and_marks_viewed(doctor, patient):
    plan = make_published_plan(patient, doctor)
    assert plan.mark_patient_acknowledged() is True
    assert plan.mark_patient_acknowledged() is False
    plan.refresh_from_db()
    assert plan.patient_acknowledged_at is not None
    assert plan.patient_viewed_at is not None
    assert actions(plan=plan).count(Audit.Action.PATIENT_ACKNOWLEDGED) == 1


def test_acknowledge_and_feedback_refused_on_draft(doctor, patient):
    plan = make_plan(patient, doctor)
    with pytest.raises(ValueError):
        plan.mark_patient_acknowledged()
    with pytest.raises(ValueError):
        plan.add_patient_feedback("hello")
    assert not PlanFeedback.objects.exists()


def test_feedback_history_is_kept_not_overwritten(doctor, patient):
    plan = make_published_plan(patient, doctor)
    plan.patient_feedback = "First question"
    plan.save()
    plan.patient_feedback = "Second question"
    plan.save()
    plan.save()  # nothing changed: no new message
    plan.plan_title = "Renamed"
    plan.save(update_fields=["plan_title"])
    reloaded = DoctorTreatmentPlan.objects.get(pk=plan.pk)
    reloaded.save()  # loaded from the database, unchanged: no new message
    assert reloaded.patient_feedback == "Second question"
    assert list(plan.feedback_messages.values_list("message", flat=True)) == [
        "First question",
        "Second question",
    ]
    assert actions(plan=plan).count(Audit.Action.PATIENT_FEEDBACK) == 2


def test_feedback_detected_when_field_was_deferred(doctor, patient):
    plan = make_published_plan(patient, doctor, patient_feedback="")
    deferred = DoctorTreatmentPlan.objects.defer("patient_feedback").get(pk=plan.pk)
    deferred.save()
    deferred.patient_feedback = "After a deferred load"
    deferred.save()
    assert plan.feedback_messages.count() == 1


def test_add_patient_feedback_keeps_repeated_messages(doctor, patient):
    plan = make_published_plan(patient, doctor)
    plan.add_patient_feedback("  Same words  ")
    plan.add_patient_feedback("Same words")
    assert list(plan.feedback_messages.values_list("message", flat=True)) == ["Same words"] * 2
    plan.refresh_from_db()
    assert plan.patient_feedback == "Same words"


@pytest.mark.parametrize("message", ["", "   ", "x" * 2001])
def test_add_patient_feedback_validates(doctor, patient, message):
    plan = make_published_plan(patient, doctor)
    with pytest.raises(ValueError):
        plan.add_patient_feedback(message)
    assert not plan.feedback_messages.exists()


def test_supersede_keeps_plan_readable(doctor, patient):
    plan = make_published_plan(patient, doctor)
    plan.supersede()
    plan.refresh_from_db()
    assert plan.status == "superseded"
    assert plan.superseded_at is not None
    assert not plan.is_current()
    assert plan in plans_for_patient(patient)
    assert actions(plan=plan)[-1] == Audit.Action.PLAN_SUPERSEDED


def test_supersede_refused_unless_active(doctor, patient):
    with pytest.raises(ValueError):
        make_plan(patient, doctor).supersede()


def test_publishing_a_revision_supersedes_its_predecessor(doctor, patient):
    old = make_published_plan(patient, doctor)
    new = make_plan(patient, doctor, previous_version=old, version=2)
    new.publish_to_patient()
    old.refresh_from_db()
    assert old.status == "superseded"
    assert old.next_version == new
    assert [v.version for v in new.version_history()] == [1, 2]
    assert [v.version for v in old.version_history()] == [1, 2]
    assert Audit.objects.get(plan=old, action="plan_superseded").changes["superseded_by"] == new.pk


def test_is_published_to_patient_agrees_with_plans_for_patient(doctor, patient):
    draft = make_plan(patient, doctor)
    published = make_published_plan(patient, doctor)
    hidden_active = make_published_plan(patient, doctor)
    DoctorTreatmentPlan.objects.filter(pk=hidden_active.pk).update(is_visible_to_patient=False)
    hidden_active.refresh_from_db()
    visible = set(plans_for_patient(patient).values_list("pk", flat=True))
    for plan in (draft, published, hidden_active):
        assert plan.is_published_to_patient is (plan.pk in visible)
    assert visible == {published.pk}
