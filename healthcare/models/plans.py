"""The doctor's treatment plan: what the patient sees once it is published."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .clinical import Encounter, Patient, Provider
from .proposals import AIProposedTreatmentPlan


class DoctorTreatmentPlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        SUPERSEDED = "superseded", "Superseded"

    # The clinical content of a plan: what a revision copies and what the audit trail diffs.
    CONTENT_FIELDS = (
        "plan_title",
        "assessment",
        "treatment_goals",
        "medications",
        "lifestyle_modifications",
        "dietary_recommendations",
        "exercise_recommendations",
        "follow_up_instructions",
        "warning_signs",
        "emergency_instructions",
        "plan_start_date",
        "plan_end_date",
        "next_review_date",
    )

    plan_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_plans")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="treatment_plans")
    encounter = models.ForeignKey(
        Encounter,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="treatment_plans",
    )
    ai_proposal = models.ForeignKey(
        AIProposedTreatmentPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="treatment_plans",
    )
    # Versions: a revision points at the plan it replaces; the old one reaches it through
    # `next_version`. One-to-one, so the database itself refuses two successors of one plan.
    previous_version = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_version",
    )
    version = models.PositiveIntegerField(default=1)

    plan_title = models.CharField(max_length=200)
    assessment = models.TextField()
    treatment_goals = models.TextField(blank=True)
    medications = models.TextField(blank=True)
    lifestyle_modifications = models.TextField(blank=True)
    dietary_recommendations = models.TextField(blank=True)
    exercise_recommendations = models.TextField(blank=True)
    follow_up_instructions = models.TextField(blank=True)
    warning_signs = models.TextField(blank=True)
    emergency_instructions = models.TextField(blank=True)
    plan_start_date = models.DateField(default=timezone.localdate)
    plan_end_date = models.DateField(null=True, blank=True)
    next_review_date = models.DateField(null=True, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    is_visible_to_patient = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    patient_viewed_at = models.DateTimeField(null=True, blank=True)
    patient_acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The latest message; every message is kept in PlanFeedback (see save()).
    patient_feedback = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        db_table = "doctor_treatment_plans"
        indexes = [
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["provider", "-created_at"]),
            models.Index(fields=["patient", "is_visible_to_patient", "status"]),
            models.Index(fields=["patient", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.plan_title} (v{self.version}, {self.get_status_display()})"

    def is_current(self) -> bool:
        """Active and not replaced by a newer version."""
        return self.status == self.Status.ACTIVE

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class PlanFeedback(models.Model):
    """One message from a patient about a plan; the history is never overwritten."""

    feedback_id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(
        DoctorTreatmentPlan, on_delete=models.PROTECT, related_name="feedback_messages"
    )
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_by_doctor_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = "patient feedback"
        verbose_name_plural = "patient feedback"
        indexes = [models.Index(fields=["plan", "created_at"])]

    def __str__(self) -> str:
        return f"Feedback on plan {self.plan_id} at {self.created_at:%Y-%m-%d %H:%M}"
