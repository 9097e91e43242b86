"""The life of a doctor's treatment plan: create, edit, publish, revise, complete, cancel.

Each function runs in one transaction, locks the rows it changes (select_for_update, so two
clicks or two tabs cannot both win) and writes an audit entry with the changed fields.
Failures a doctor can act on are raised as PlanActionError with a sentence to show.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import AIProposedTreatmentPlan, DoctorTreatmentPlan, Patient, Provider
from ..models import TreatmentPlanAuditLog as Audit

Status = DoctorTreatmentPlan.Status
CONTENT_FIELDS = DoctorTreatmentPlan.CONTENT_FIELDS
EDITABLE_FIELDS = (*CONTENT_FIELDS, "encounter")


class PlanActionError(Exception):
    """A refused plan action; str(error) is a message for the doctor."""


def _locked(plan: DoctorTreatmentPlan) -> DoctorTreatmentPlan:
    return DoctorTreatmentPlan.objects.select_for_update().get(pk=plan.pk)


def _content(plan: DoctorTreatmentPlan) -> dict:
    return {field: getattr(plan, field) for field in CONTENT_FIELDS}


def _editable(plan: DoctorTreatmentPlan) -> dict:
    """What a doctor can edit, with the encounter as its id (JSON-friendly for the audit)."""
    return {**_content(plan), "encounter": plan.encounter_id}


def check_proposal_usable(
    proposal: AIProposedTreatmentPlan, patient: Patient, provider: Provider
) -> None:
    """A plan may be built only from a reviewed proposal of the same patient and doctor."""
    if proposal.patient_id != patient.pk:
        raise PlanActionError("This AI proposal belongs to another patient; it cannot be used.")
    if proposal.provider_id != provider.pk:
        raise PlanActionError("This AI proposal was requested by another doctor.")
    if not proposal.is_generation_finished:
        raise PlanActionError("This AI proposal has not finished generating.")
    if proposal.status == AIProposedTreatmentPlan.Status.PENDING:
        raise PlanActionError("AI proposal must be reviewed by doctor first.")
    if proposal.status == AIProposedTreatmentPlan.Status.REJECTED:
        raise PlanActionError(
            "This AI proposal was rejected; create the plan from scratch instead."
        )


def initial_from_proposal(proposal: AIProposedTreatmentPlan) -> dict:
    """Form values prefilled from the proposal's sections, for the doctor to edit."""
    return {
        "plan_title": "Treatment plan",
        "assessment": proposal.clinical_assessment,
        "treatment_goals": proposal.treatment_goals,
        "medications": proposal.medications_suggested,
        "lifestyle_modifications": proposal.lifestyle_recommendations,
        "follow_up_instructions": proposal.follow_up_recommendations,
        "warning_signs": proposal.warnings_and_precautions,
    }


def create_plan(
    *,
    patient: Patient,
    provider: Provider,
    data: dict,
    by,
    proposal: AIProposedTreatmentPlan | None = None,
) -> DoctorTreatmentPlan:
    """Create a draft plan, from scratch or from a reviewed AI proposal."""
    with transaction.atomic():
        if proposal is not None:
            proposal = AIProposedTreatmentPlan.objects.select_for_update().get(pk=proposal.pk)
            check_proposal_usable(proposal, patient, provider)
        plan = DoctorTreatmentPlan(
            patient=patient,
            provider=provider,
            ai_proposal=proposal,
            encounter=data.get("encounter"),
            status=Status.DRAFT,
            **{field: data[field] for field in CONTENT_FIELDS if field in data},
        )
        plan.full_clean()
        plan.save()
        if proposal is not None:
            proposal.mark_as_used()
        changes = {field: [None, value] for field, value in _editable(plan).items() if value}
        if proposal is not None:
            changes["ai_proposal"] = proposal.pk
        Audit.record(Audit.Action.PLAN_CREATED, actor=by, plan=plan, changes=changes)
    return plan


def update_draft(plan: DoctorTreatmentPlan, data: dict, *, by) -> dict:
    """Edit a draft; returns the changed fields as {field: [old, new]}."""
    with transaction.atomic():
        plan, caller = _locked(plan), plan
        if not plan.is_editable:
            raise PlanActionError(
                f"Only a draft can be edited; this plan is {plan.get_status_display().lower()}. "
                "Revise it to change it."
            )
        before = _editable(plan)
        for field in EDITABLE_FIELDS:
            if field in data:
                setattr(plan, field, data[field])
        after = _editable(plan)
        changes = {
            field: [before[field], after[field]]
            for field in EDITABLE_FIELDS
            if before[field] != after[field]
        }
        if changes:
            plan.save(update_fields=[*changes, "updated_at"])
            Audit.record(Audit.Action.PLAN_EDITED, actor=by, plan=plan, changes=changes)
    caller.refresh_from_db()  # the caller's instance reflects the change too
    return changes


def publish_plan(plan: DoctorTreatmentPlan, *, by) -> DoctorTreatmentPlan:
    """Publish a draft (a revision supersedes its predecessor in the same transaction)."""
    with transaction.atomic():
        plan, caller = _locked(plan), plan
        if plan.status != Status.DRAFT:
            raise PlanActionError(
                f"Only a draft can be published; this plan is {plan.get_status_display().lower()}."
            )
        plan.publish_to_patient(by=by)
    caller.refresh_from_db()  # the caller's instance reflects the change too
    return caller


def revise_plan(plan: DoctorTreatmentPlan, *, by) -> DoctorTreatmentPlan:
    """Start version N+1 of an active plan as a draft copy linked to it.

    The old version stays active (and visible) until the revision is published. The old row is
    locked, and previous_version is one-to-one, so a second concurrent revision fails cleanly.
    """
    try:
        with transaction.atomic():
            old = _locked(plan)
            if old.status != Status.ACTIVE:
                raise PlanActionError(
                    f"Only an active plan can be revised; this one is "
                    f"{old.get_status_display().lower()}."
                )
            if DoctorTreatmentPlan.objects.filter(previous_version=old).exists():
                raise PlanActionError(_already_revised_message(old))
            new = DoctorTreatmentPlan.objects.create(
                patient=old.patient,
                provider=old.provider,
                encounter=old.encounter,
                ai_proposal=old.ai_proposal,
                previous_version=old,
                version=old.version + 1,
                status=Status.DRAFT,
                **_content(old),
            )
            Audit.record(
                Audit.Action.PLAN_REVISED,
                actor=by,
                plan=new,
                changes={"previous_version": old.pk, "version": [old.version, new.version]},
            )
    except IntegrityError:
        raise PlanActionError(_already_revised_message(plan)) from None
    return new


def _already_revised_message(plan: DoctorTreatmentPlan) -> str:
    return (
        f"Version {plan.version} of this plan already has a revision; "
        "open that revision instead of starting another."
    )


def complete_plan(plan: DoctorTreatmentPlan, *, by) -> DoctorTreatmentPlan:
    with transaction.atomic():
        plan, caller = _locked(plan), plan
        if plan.status != Status.ACTIVE:
            raise PlanActionError(
                f"Only an active plan can be completed; this one is "
                f"{plan.get_status_display().lower()}."
            )
        plan.status = Status.COMPLETED
        plan.completed_at = timezone.now()
        plan.save(update_fields=["status", "completed_at", "updated_at"])
        Audit.record(
            Audit.Action.PLAN_COMPLETED,
            actor=by,
            plan=plan,
            changes={"status": [Status.ACTIVE, Status.COMPLETED]},
        )
    caller.refresh_from_db()  # the caller's instance reflects the change too
    return caller


def cancel_plan(plan: DoctorTreatmentPlan, *, by) -> DoctorTreatmentPlan:
    """Cancel a draft or an active plan.

    A cancelled draft revision lets go of the version it was revising (recorded in the audit
    trail), so that version can be revised again.
    """
    with transaction.atomic():
        plan, caller = _locked(plan), plan
        if plan.status not in (Status.DRAFT, Status.ACTIVE):
            raise PlanActionError(
                f"Only a draft or active plan can be cancelled; this one is "
                f"{plan.get_status_display().lower()}."
            )
        changes = {"status": [plan.status, Status.CANCELLED]}
        fields = ["status", "cancelled_at", "updated_at"]
        if plan.status == Status.DRAFT and plan.previous_version_id is not None:
            changes["previous_version"] = [plan.previous_version_id, None]
            plan.previous_version = None
            fields.append("previous_version")
        plan.status = Status.CANCELLED
        plan.cancelled_at = timezone.now()
        plan.save(update_fields=fields)
        Audit.record(Audit.Action.PLAN_CANCELLED, actor=by, plan=plan, changes=changes)
    caller.refresh_from_db()  # the caller's instance reflects the change too
    return caller


def mark_feedback_read(plan: DoctorTreatmentPlan) -> int:
    """The doctor opened the plan: its patient feedback counts as read."""
    return plan.feedback_messages.filter(read_by_doctor_at__isnull=True).update(
        read_by_doctor_at=timezone.now()
    )
