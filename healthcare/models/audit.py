"""The audit trail: who did what, when, and what changed (invariant 5).

Rows are append-only: the model refuses updates and deletes, and so does its queryset.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditLogAppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit row."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogAppendOnlyError("Audit rows are never edited.")

    def delete(self):
        raise AuditLogAppendOnlyError("Audit rows are never deleted.")


class TreatmentPlanAuditLog(models.Model):
    class Action(models.TextChoices):
        GENERATION_REQUESTED = "generation_requested", "AI generation requested"
        GENERATION_SUCCEEDED = "generation_succeeded", "AI generation succeeded"
        GENERATION_INCOMPLETE = "generation_incomplete", "AI generation incomplete"
        GENERATION_FAILED = "generation_failed", "AI generation failed"
        PROPOSAL_REVIEWED = "proposal_reviewed", "AI proposal reviewed"
        PLAN_CREATED = "plan_created", "Plan created"
        PLAN_EDITED = "plan_edited", "Plan edited"
        PLAN_PUBLISHED = "plan_published", "Plan published"
        PLAN_REVISED = "plan_revised", "Plan revised"
        PLAN_SUPERSEDED = "plan_superseded", "Plan superseded"
        PLAN_COMPLETED = "plan_completed", "Plan completed"
        PLAN_CANCELLED = "plan_cancelled", "Plan cancelled"
        PATIENT_VIEWED = "patient_viewed", "Viewed by patient"
        PATIENT_ACKNOWLEDGED = "patient_acknowledged", "Acknowledged by patient"
        PATIENT_FEEDBACK = "patient_feedback", "Feedback from patient"

    audit_id = models.BigAutoField(primary_key=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    # What the entry is about. PROTECT: an object with a history cannot vanish.
    patient = models.ForeignKey(
        "healthcare.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    proposal = models.ForeignKey(
        "healthcare.AIProposedTreatmentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    plan = models.ForeignKey(
        "healthcare.DoctorTreatmentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-audit_id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        db_table = "treatment_plan_audit_log"
        indexes = [
            models.Index(fields=["plan", "-timestamp"]),
            models.Index(fields=["proposal", "-timestamp"]),
            models.Index(fields=["patient", "-timestamp"]),
            models.Index(fields=["action", "-timestamp"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.timestamp:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditLogAppendOnlyError("Audit rows are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogAppendOnlyError("Audit rows are never deleted.")

    @classmethod
    def record(
        cls,
        action: str,
        *,
        actor=None,
        patient_id: int | None = None,
        proposal=None,
        plan=None,
        changes: dict | None = None,
    ) -> TreatmentPlanAuditLog:
        """Append one entry. `actor` may be None (a batch job, the system)."""
        if patient_id is None:
            patient_id = (plan or proposal).patient_id if (plan or proposal) else None
        if actor is not None and not getattr(actor, "is_authenticated", False):
            actor = None
        return cls.objects.create(
            action=action,
            actor=actor,
            patient_id=patient_id,
            proposal=proposal,
            plan=plan,
            changes=changes or {},
        )
