"""The audit trail is append-only (invariant 5)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from healthcare.models import TreatmentPlanAuditLog
from healthcare.models.audit import AuditLogAppendOnlyError

from .factories import (
    AIProposedTreatmentPlanFactory,
    DoctorTreatmentPlanFactory,
    TreatmentPlanAuditLogFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


Action = TreatmentPlanAuditLog.Action


def test_record_takes_patient_from_plan_and_keeps_changes():
    plan = DoctorTreatmentPlanFactory()
    user = UserFactory()
    entry = TreatmentPlanAuditLog.record(
        Action.PLAN_EDITED, actor=user, plan=plan, changes={"plan_title": ["a", "b"]}
    )
    entry.refresh_from_db()
    assert entry.patient_id == plan.patient_id
    assert entry.actor == user
    assert entry.changes == {"plan_title": ["a", "b"]}
    assert entry.timestamp is not None


def test_record_takes_patient_from_proposal():
    proposal = AIProposedTreatmentPlanFactory()
    entry = TreatmentPlanAuditLog.record(Action.GENERATION_REQUESTED, proposal=proposal)
    assert entry.patient_id == proposal.patient_id
    assert entry.actor is None


def test_anonymous_actor_stored_as_none():
    plan = DoctorTreatmentPlanFactory()
    entry = TreatmentPlanAuditLog.record(Action.PATIENT_VIEWED, actor=AnonymousUser(), plan=plan)
    assert entry.actor is None


def test_rows_cannot_be_edited_or_deleted():
    entry = TreatmentPlanAuditLogFactory()
    entry.action = Action.PLAN_CANCELLED
    with pytest.raises(AuditLogAppendOnlyError):
        entry.save()
    with pytest.raises(AuditLogAppendOnlyError):
        entry.delete()
    with pytest.raises(AuditLogAppendOnlyError):
        TreatmentPlanAuditLog.objects.filter(pk=entry.pk).update(action=Action.PLAN_CANCELLED)
    with pytest.raises(AuditLogAppendOnlyError):
        TreatmentPlanAuditLog.objects.all().delete()
    entry.refresh_from_db()
    assert entry.action == Action.PLAN_CREATED


def test_str_names_action():
    entry = TreatmentPlanAuditLogFactory()
    assert str(entry).startswith("Plan created at ")
