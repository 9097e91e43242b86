"""The doctor's treatment plan: what the patient sees once it is published."""

from __future__ import annotations

from django.db import models, transaction
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

    FEEDBACK_MAX_LENGTH = 2000
    # States a plan never leaves: publishing from them would resurrect a closed plan.
    CLOSED_STATUSES = (Status.COMPLETED, Status.CANCELLED, Status.SUPERSEDED)

    # The value of patient_feedback as last loaded or saved, so save() can tell a new message
    # (the spec's `plan.patient_feedback = "..."; plan.save()`) from an unrelated save.
    # None: unknown (the field was deferred when the row was loaded).
    _saved_feedback: str | None = ""

    def __str__(self) -> str:
        return f"{self.plan_title} (v{self.version}, {self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        if not self._feedback_changed(kwargs.get("update_fields")):
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._record_feedback(self.patient_feedback, actor=self._patient_actor(None))

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_feedback = instance.__dict__.get("patient_feedback")
        return instance

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        if "patient_feedback" in self.__dict__:
            self._saved_feedback = self.patient_feedback

    def is_current(self) -> bool:
        """Active and not replaced by a newer version."""
        return self.status == self.Status.ACTIVE

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATUSES

    @property
    def is_published_to_patient(self) -> bool:
        """What a patient may read: published, never a draft (as in plans_for_patient)."""
        return self.is_visible_to_patient and self.status != self.Status.DRAFT

    # --- Actors ----------------------------------------------------------------------------
    def _doctor_actor(self, by):
        return by if by is not None else self.provider.user

    def _patient_actor(self, by):
        return by if by is not None else self.patient.user

    def _audit(self, action: str, actor, changes: dict | None = None) -> None:
        from .audit import TreatmentPlanAuditLog

        TreatmentPlanAuditLog.record(
            action, actor=actor, plan=self, patient_id=self.patient_id, changes=changes
        )

    # --- Saving: every new patient_feedback value becomes a PlanFeedback row -----------------
    def _feedback_changed(self, update_fields) -> bool:
        if "patient_feedback" not in self.__dict__:
            return False  # deferred and never touched
        if update_fields is not None and "patient_feedback" not in update_fields:
            return False
        if not self.patient_feedback.strip():
            return False
        saved = self._saved_feedback
        if saved is None and self.pk is not None:
            saved = (
                type(self)
                .objects.filter(pk=self.pk)
                .values_list("patient_feedback", flat=True)
                .first()
            )
        return self.patient_feedback != (saved or "")

    def _record_feedback(self, message: str, *, actor) -> PlanFeedback:
        entry = PlanFeedback.objects.create(plan=self, message=message)
        self._saved_feedback = message
        from .audit import TreatmentPlanAuditLog

        self._audit(
            TreatmentPlanAuditLog.Action.PATIENT_FEEDBACK,
            actor,
            {"feedback_id": entry.feedback_id, "patient_feedback": message},
        )
        return entry

    # --- Doctor actions --------------------------------------------------------------------
    def publish_to_patient(self, *, by=None) -> None:
        """Make the plan active and visible to the patient.

        A revision supersedes the version it replaces in the same transaction, with that row
        locked, so a patient always has exactly one current version of a plan.
        """
        from .audit import TreatmentPlanAuditLog

        if self.is_closed:
            raise ValueError(
                f"A {self.get_status_display().lower()} plan cannot be published; "
                "revise it or create a new plan."
            )
        if self.status == self.Status.ACTIVE and self.is_visible_to_patient:
            return  # already published: nothing changes, nothing to audit
        actor = self._doctor_actor(by)
        with transaction.atomic():
            if self.previous_version_id is not None:
                previous = type(self).objects.select_for_update().get(pk=self.previous_version_id)
                if previous.status == self.Status.ACTIVE:
                    previous.supersede(by=actor, successor=self)
                self.previous_version = previous
            before = {"status": self.status, "is_visible_to_patient": self.is_visible_to_patient}
            self.status = self.Status.ACTIVE
            self.is_visible_to_patient = True
            if self.published_at is None:
                self.published_at = timezone.now()
            if self.pk is None:
                self.save()
            else:
                self.save(
                    update_fields=["status", "is_visible_to_patient", "published_at", "updated_at"]
                )
            self._audit(
                TreatmentPlanAuditLog.Action.PLAN_PUBLISHED,
                actor,
                {
                    "status": [before["status"], self.status],
                    "is_visible_to_patient": [before["is_visible_to_patient"], True],
                    "version": self.version,
                },
            )

    def supersede(self, *, by=None, successor: DoctorTreatmentPlan | None = None) -> None:
        """Mark the plan as replaced by a newer version; it stays readable by the patient."""
        from .audit import TreatmentPlanAuditLog

        if self.status != self.Status.ACTIVE:
            raise ValueError(
                f"Only an active plan can be superseded; this one is "
                f"{self.get_status_display().lower()}."
            )
        before = self.status
        changes = {"status": [before, self.Status.SUPERSEDED]}
        if successor is not None:
            changes["superseded_by"] = successor.pk
        with transaction.atomic():
            self.status = self.Status.SUPERSEDED
            self.superseded_at = timezone.now()
            self.save(update_fields=["status", "superseded_at", "updated_at"])
            self._audit(
                TreatmentPlanAuditLog.Action.PLAN_SUPERSEDED, self._doctor_actor(by), changes
            )

    # --- Patient actions -------------------------------------------------------------------
    def _require_published(self) -> None:
        if not self.is_published_to_patient:
            raise ValueError("This plan has not been published to the patient.")

    def mark_patient_viewed(self, *, by=None) -> bool:
        """Record the patient's first view; later views change nothing. True on the first."""
        from .audit import TreatmentPlanAuditLog

        if self.patient_viewed_at is not None:
            return False
        now = timezone.now()
        with transaction.atomic():
            # A conditional update, so two tabs opened at once still count one first view.
            first = (
                type(self)
                .objects.filter(pk=self.pk, patient_viewed_at__isnull=True)
                .update(patient_viewed_at=now)
            )
            if not first:
                self.refresh_from_db(fields=["patient_viewed_at"])
                return False
            self.patient_viewed_at = now
            self._audit(
                TreatmentPlanAuditLog.Action.PATIENT_VIEWED,
                self._patient_actor(by),
                {"patient_viewed_at": [None, now]},
            )
        return True

    def mark_patient_acknowledged(self, *, by=None) -> bool:
        """Record that the patient read and understood the plan. True if newly acknowledged."""
        from .audit import TreatmentPlanAuditLog

        self._require_published()
        if self.patient_acknowledged_at is not None:
            return False
        now = timezone.now()
        with transaction.atomic():
            first = (
                type(self)
                .objects.filter(pk=self.pk, patient_acknowledged_at__isnull=True)
                .update(patient_acknowledged_at=now)
            )
            if not first:
                self.refresh_from_db(fields=["patient_acknowledged_at"])
                return False
            self.patient_acknowledged_at = now
            self._audit(
                TreatmentPlanAuditLog.Action.PATIENT_ACKNOWLEDGED,
                self._patient_actor(by),
                {"patient_acknowledged_at": [None, now]},
            )
        if self.patient_viewed_at is None:
            self.mark_patient_viewed(by=by)
        return True

    def add_patient_feedback(self, message: str, *, by=None) -> PlanFeedback:
        """Keep one more message from the patient (the history is never overwritten)."""
        self._require_published()
        message = (message or "").strip()
        if not message:
            raise ValueError("Feedback cannot be empty.")
        if len(message) > self.FEEDBACK_MAX_LENGTH:
            raise ValueError(f"Feedback is limited to {self.FEEDBACK_MAX_LENGTH} characters.")
        with transaction.atomic():
            self.patient_feedback = message
            super().save(update_fields=["patient_feedback", "updated_at"])
            return self._record_feedback(message, actor=self._patient_actor(by))

    # --- Reading ---------------------------------------------------------------------------
    def version_history(self) -> list[DoctorTreatmentPlan]:
        """Every version of this plan, oldest first (one query per step, chains are short)."""
        versions = [self]
        node = self
        while node.previous_version_id is not None:
            node = type(self).objects.select_related("provider").get(pk=node.previous_version_id)
            versions.insert(0, node)
        node = self
        while True:
            try:
                node = (
                    type(self).objects.select_related("provider").get(previous_version_id=node.pk)
                )
            except type(self).DoesNotExist:
                break
            versions.append(node)
        return versions

    @property
    def unread_feedback_count(self) -> int:
        return self.feedback_messages.filter(read_by_doctor_at__isnull=True).count()


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
