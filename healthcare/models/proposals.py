"""AI-proposed treatment plans: what the model wrote, for doctors only (invariant 1).

A proposal row exists from the moment a generation is asked for (state `queued`) and is never
deleted: a failed attempt keeps its reason (invariant 4). What the model wrote and how it was
produced (snapshot, hashes, model digest, durations) is provenance, read-only in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .clinical import Patient, Provider


class AIProposedTreatmentPlan(models.Model):
    class Status(models.TextChoices):
        """The doctor's review of the proposal."""

        PENDING = "pending", "Pending review"
        REVIEWED = "reviewed", "Reviewed"
        ACCEPTED = "accepted", "Accepted"
        MODIFIED = "modified", "Modified"
        REJECTED = "rejected", "Rejected"

    class GenerationStatus(models.TextChoices):
        """Where the model's work stands."""

        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        INCOMPLETE = "incomplete", "Incomplete"  # cut by num_predict or failed validation
        FAILED = "failed", "Failed"

    FINISHED_GENERATION = (GenerationStatus.COMPLETED, GenerationStatus.INCOMPLETE)
    IN_PROGRESS_GENERATION = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)

    proposal_id = models.BigAutoField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="ai_proposals")
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="ai_proposals"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries"
    )

    # --- What the model proposed (parsed sections) -------------------------------------
    proposed_treatment = models.TextField(blank=True, help_text="Full AI-generated text")
    clinical_assessment = models.TextField(blank=True)
    treatment_goals = models.TextField(blank=True)
    medications_suggested = models.TextField(blank=True)
    lifestyle_recommendations = models.TextField(blank=True)
    follow_up_recommendations = models.TextField(blank=True)
    warnings_and_precautions = models.TextField(blank=True)

    # --- Review by the doctor ----------------------------------------------------------
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    doctor_notes = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_proposals",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(
        null=True, blank=True, help_text="When a treatment plan was first built from it"
    )

    # --- Generation state --------------------------------------------------------------
    generation_status = models.CharField(
        max_length=10, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED
    )
    failure_reason = models.TextField(blank=True)
    error_type = models.CharField(max_length=60, blank=True)
    incomplete_reason = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # --- Provenance ----------------------------------------------------------------------
    input_snapshot = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ai_model_name = models.CharField(max_length=100, default="llama3.2")
    model_digest = models.CharField(max_length=100, blank=True)
    ollama_version = models.CharField(max_length=40, blank=True)
    ollama_server = models.CharField(max_length=200, blank=True)
    generation_options = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    prompt_template_version = models.CharField(max_length=20, blank=True)
    prompt_sha256 = models.CharField(max_length=64, blank=True)
    response_sha256 = models.CharField(max_length=64, blank=True)
    raw_response = models.TextField(
        blank=True, help_text="The model's text as received; grows while it streams"
    )
    structured_output = models.BooleanField(
        default=False, help_text="Parsed from the JSON schema reply (else from headings)"
    )
    safety_flags = models.JSONField(
        default=list, blank=True, help_text="Warnings for the doctor, e.g. prompt injection"
    )
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    num_ctx = models.PositiveIntegerField(null=True, blank=True)
    total_duration_ns = models.BigIntegerField(null=True, blank=True)
    load_duration_ns = models.BigIntegerField(null=True, blank=True)
    prompt_eval_duration_ns = models.BigIntegerField(null=True, blank=True)
    eval_duration_ns = models.BigIntegerField(null=True, blank=True)
    done_reason = models.CharField(max_length=20, blank=True)
    generation_time_seconds = models.FloatField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "AI proposed treatment plan"
        db_table = "ai_proposed_treatment_plans"
        indexes = [
            models.Index(fields=["provider", "-created_at"]),
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["patient", "-created_at"]),
            models.Index(fields=["generation_status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"AI proposal #{self.proposal_id} ({self.get_status_display()})"

    # --- Review ------------------------------------------------------------------------
    @property
    def is_reviewed(self) -> bool:
        return self.status != self.Status.PENDING

    @property
    def is_generation_finished(self) -> bool:
        return self.generation_status in self.FINISHED_GENERATION

    @property
    def is_in_progress(self) -> bool:
        return self.generation_status in self.IN_PROGRESS_GENERATION

    @classmethod
    def awaiting_review(cls) -> models.Q:
        """Finished generating and not reviewed yet: the doctor's to-do (lists and counts)."""
        return models.Q(status=cls.Status.PENDING, generation_status__in=cls.FINISHED_GENERATION)

    def _mark(self, status: str, doctor_notes: str | None, by=None) -> None:
        from .audit import TreatmentPlanAuditLog

        if not self.is_generation_finished:
            raise ValueError(
                "Only a finished proposal can be reviewed; this one is "
                f"{self.get_generation_status_display().lower()}."
            )
        actor = by or (self.provider.user if self.provider_id else None)
        before = {"status": self.status, "doctor_notes": self.doctor_notes}
        with transaction.atomic():
            self.status = status
            if doctor_notes is not None:
                self.doctor_notes = doctor_notes
            self.reviewed_by = actor
            self.reviewed_at = timezone.now()
            self.save(
                update_fields=["status", "doctor_notes", "reviewed_by", "reviewed_at", "updated_at"]
            )
            TreatmentPlanAuditLog.record(
                TreatmentPlanAuditLog.Action.PROPOSAL_REVIEWED,
                actor=actor,
                proposal=self,
                patient_id=self.patient_id,
                changes={
                    "status": [before["status"], self.status],
                    "doctor_notes": [before["doctor_notes"], self.doctor_notes],
                },
            )

    def mark_as_reviewed(self, doctor_notes: str | None = None, *, by=None) -> None:
        self._mark(self.Status.REVIEWED, doctor_notes, by)

    def mark_as_accepted(self, doctor_notes: str | None = None, *, by=None) -> None:
        self._mark(self.Status.ACCEPTED, doctor_notes, by)

    def mark_as_modified(self, doctor_notes: str | None = None, *, by=None) -> None:
        self._mark(self.Status.MODIFIED, doctor_notes, by)

    def mark_as_rejected(self, doctor_notes: str | None = None, *, by=None) -> None:
        self._mark(self.Status.REJECTED, doctor_notes, by)

    def mark_as_used(self) -> None:
        """Record that a treatment plan was built from this proposal.

        The specification calls this without defining it. Using a proposal requires that the
        doctor reviewed it first (invariant 3); the first use is kept, later ones change nothing.
        """
        if not self.is_reviewed:
            raise ValueError("AI proposal must be reviewed by doctor first")
        if self.used_at is None:
            self.used_at = timezone.now()
            self.save(update_fields=["used_at", "updated_at"])

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)
