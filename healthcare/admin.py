"""The Django admin for every model (DESIGN.md, invariant 7).

Admins correct records; they do not rewrite history:
- what the model wrote and how it was produced (an AI proposal's sections, raw response and
  provenance) is read-only; only the review (status, doctor's notes) can be corrected;
- audit rows are view-only: no add, no change, no delete;
- a patient's feedback messages are read-only except "read by doctor".

Admin log entries (django_admin_log) never carry a patient's name or MRN: every admin here logs
"<model> #<id>" instead of `str(obj)`, including the objects named in inline change messages.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model

from .models import (
    AIProposedTreatmentPlan,
    Allergy,
    Diagnosis,
    DoctorTreatmentPlan,
    Encounter,
    FamilyHistory,
    LabTest,
    MedicalHistory,
    Patient,
    PlanFeedback,
    Prescription,
    Provider,
    SocialHistory,
    TreatmentPlanAuditLog,
    UserProfile,
    VitalSign,
)

User = get_user_model()

PATIENT_SEARCH = ("patient__last_name", "patient__first_name", "=patient__mrn")


def log_repr(obj: Model) -> str:
    """What the admin log says about an object: its kind and id, never its `str()`."""
    pk = obj.pk if obj.pk is not None else "?"
    return f"{obj._meta.verbose_name} #{pk}"


class DeidentifiedLogMixin:
    """Admin log entries without names or MRNs (the default logs `str(obj)`)."""

    def _log(self, request, objects, action_flag: int, message="") -> list[LogEntry]:
        if isinstance(message, list):
            message = json.dumps(message)
        entries = [
            LogEntry(
                user_id=request.user.pk,
                content_type_id=get_content_type_for_model(obj).pk,
                object_id=str(obj.pk),
                object_repr=log_repr(obj)[:200],
                action_flag=action_flag,
                change_message=message,
            )
            for obj in objects
        ]
        return LogEntry.objects.bulk_create(entries)

    def log_addition(self, request, obj, message):
        return self._log(request, [obj], ADDITION, message)[0]

    def log_change(self, request, obj, message):
        return self._log(request, [obj], CHANGE, message)[0]

    def log_deletions(self, request, queryset):
        return self._log(request, list(queryset), DELETION)

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        # Django names inline objects by str(); walk them in the order Django listed them.
        inline_objects = []
        for formset in formsets or []:
            inline_objects += list(formset.new_objects)
            inline_objects += [changed for changed, _fields in formset.changed_objects]
            inline_objects += list(formset.deleted_objects)
        described = [entry for entry in message if "object" in next(iter(entry.values()))]
        for entry, obj in zip(described, inline_objects, strict=False):
            next(iter(entry.values()))["object"] = log_repr(obj)
        return message


TIMESTAMPS = ("created_at", "updated_at")


class BaseAdmin(DeidentifiedLogMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) less on large tables
    readonly_fields = TIMESTAMPS


class BaseTabularInline(admin.TabularInline):
    extra = 0
    show_change_link = True


# --- Users and roles ----------------------------------------------------------------------
class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    extra = 0
    max_num = 1
    fields = ("role", *TIMESTAMPS)
    readonly_fields = TIMESTAMPS


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DeidentifiedLogMixin, DjangoUserAdmin):
    inlines = [UserProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "role", "is_staff")
    list_filter = ("profile__role", "is_staff", "is_superuser", "is_active")
    list_select_related = ("profile",)

    @admin.display(description="Role", ordering="profile__role")
    def role(self, obj) -> str:
        profile = getattr(obj, "profile", None)
        return profile.get_role_display() if profile else "-"


@admin.register(UserProfile)
class UserProfileAdmin(BaseAdmin):
    list_display = ("user", "role", "linked_record", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "user__provider", "user__patient")
    autocomplete_fields = ("user",)

    @admin.display(description="Linked record")
    def linked_record(self, obj: UserProfile) -> str:
        record = obj.provider or obj.patient
        return log_repr(record) if record else "-"


# --- Clinical record ----------------------------------------------------------------------
@admin.register(Provider)
class ProviderAdmin(BaseAdmin):
    list_display = ("provider_id", "last_name", "first_name", "specialty", "npi", "user")
    list_display_links = ("provider_id", "last_name")
    list_filter = ("specialty",)
    search_fields = ("last_name", "first_name", "=npi", "email", "specialty")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)


class AllergyInline(BaseTabularInline):
    model = Allergy
    fields = ("allergen", "allergy_type", "severity", "reaction", "onset_date", "is_active")


class PrescriptionInline(BaseTabularInline):
    model = Prescription
    fields = (
        "medication_name",
        "dosage",
        "frequency",
        "route",
        "status",
        "start_date",
        "end_date",
        "provider",
    )
    autocomplete_fields = ("provider",)


class MedicalHistoryInline(BaseTabularInline):
    model = MedicalHistory
    fields = ("condition", "diagnosed_date", "status", "notes")


class FamilyHistoryInline(BaseTabularInline):
    model = FamilyHistory
    fields = ("relationship", "condition", "age_at_diagnosis", "notes")


class SocialHistoryInline(admin.StackedInline):
    model = SocialHistory
    extra = 0
    max_num = 1


@admin.register(Patient)
class PatientAdmin(BaseAdmin):
    list_display = (
        "patient_id",
        "last_name",
        "first_name",
        "mrn",
        "date_of_birth",
        "age",
        "sex",
        "primary_doctor",
    )
    list_display_links = ("patient_id", "last_name")
    list_filter = ("sex", "primary_doctor")
    search_fields = ("last_name", "first_name", "=mrn", "email")
    list_select_related = ("primary_doctor",)
    autocomplete_fields = ("primary_doctor", "user")
    inlines = [
        AllergyInline,
        PrescriptionInline,
        MedicalHistoryInline,
        FamilyHistoryInline,
        SocialHistoryInline,
    ]

    @admin.display(description="Age")
    def age(self, obj: Patient) -> int:
        return obj.age


class VitalSignInline(BaseTabularInline):
    model = VitalSign
    fields = ("recorded_at", *VitalSign.MEASUREMENT_FIELDS)


class DiagnosisInline(BaseTabularInline):
    model = Diagnosis
    fields = ("icd10_code", "description", "diagnosis_type", "status", "diagnosed_date")


@admin.register(Encounter)
class EncounterAdmin(BaseAdmin):
    list_display = (
        "encounter_id",
        "encounter_date",
        "patient",
        "provider",
        "encounter_type",
        "chief_complaint",
    )
    list_filter = ("encounter_type", "provider")
    date_hierarchy = "encounter_date"
    search_fields = (*PATIENT_SEARCH, "chief_complaint")
    list_select_related = ("patient", "provider")
    autocomplete_fields = ("patient", "provider")
    inlines = [VitalSignInline, DiagnosisInline]


@admin.register(VitalSign)
class VitalSignAdmin(BaseAdmin):
    list_display = (
        "vital_id",
        "recorded_at",
        "patient_of",
        "blood_pressure",
        "heart_rate",
        "respiratory_rate",
        "temperature",
        "temperature_unit",
        "oxygen_saturation",
        "bmi",
    )
    list_filter = ("temperature_unit",)
    date_hierarchy = "recorded_at"
    search_fields = ("encounter__patient__last_name", "=encounter__patient__mrn")
    list_select_related = ("encounter__patient",)
    autocomplete_fields = ("encounter",)
    # BMI follows weight and height (recomputed on save), so it is not typed in.
    readonly_fields = ("bmi", *TIMESTAMPS)

    @admin.display(description="Patient", ordering="encounter__patient__last_name")
    def patient_of(self, obj: VitalSign) -> Patient:
        return obj.encounter.patient

    def save_model(self, request, obj, form, change):
        obj.bmi = None  # recompute from the (possibly corrected) weight and height
        super().save_model(request, obj, form, change)


@admin.register(Diagnosis)
class DiagnosisAdmin(BaseAdmin):
    list_display = (
        "diagnosis_id",
        "icd10_code",
        "description",
        "patient_of",
        "diagnosis_type",
        "status",
        "diagnosed_date",
    )
    list_filter = ("status", "diagnosis_type")
    date_hierarchy = "diagnosed_date"
    search_fields = (
        "^icd10_code",
        "description",
        "encounter__patient__last_name",
        "=encounter__patient__mrn",
    )
    list_select_related = ("encounter__patient",)
    autocomplete_fields = ("encounter",)

    @admin.display(description="Patient", ordering="encounter__patient__last_name")
    def patient_of(self, obj: Diagnosis) -> Patient:
        return obj.encounter.patient


@admin.register(LabTest)
class LabTestAdmin(BaseAdmin):
    list_display = (
        "lab_id",
        "test_name",
        "patient",
        "result_value",
        "unit",
        "reference_range",
        "abnormal_flag",
        "status",
        "ordered_date",
        "result_date",
    )
    list_filter = ("abnormal_flag", "status")
    date_hierarchy = "ordered_date"
    search_fields = ("test_name", "=test_code", *PATIENT_SEARCH)
    list_select_related = ("patient",)
    autocomplete_fields = ("patient", "encounter")


@admin.register(MedicalHistory)
class MedicalHistoryAdmin(BaseAdmin):
    list_display = ("history_id", "condition", "patient", "status", "diagnosed_date")
    list_filter = ("status",)
    date_hierarchy = "diagnosed_date"
    search_fields = ("condition", *PATIENT_SEARCH)
    list_select_related = ("patient",)
    autocomplete_fields = ("patient",)


@admin.register(FamilyHistory)
class FamilyHistoryAdmin(BaseAdmin):
    list_display = ("family_history_id", "patient", "relationship", "condition", "age_at_diagnosis")
    list_filter = ("relationship",)
    search_fields = ("condition", *PATIENT_SEARCH)
    list_select_related = ("patient",)
    autocomplete_fields = ("patient",)


@admin.register(SocialHistory)
class SocialHistoryAdmin(BaseAdmin):
    list_display = (
        "social_history_id",
        "patient",
        "smoking_status",
        "pack_years",
        "alcohol_use",
        "drug_use",
        "occupation",
    )
    list_filter = ("smoking_status", "alcohol_use", "drug_use")
    search_fields = ("occupation", *PATIENT_SEARCH)
    list_select_related = ("patient",)
    autocomplete_fields = ("patient",)


@admin.register(Allergy)
class AllergyAdmin(BaseAdmin):
    list_display = ("allergy_id", "allergen", "patient", "allergy_type", "severity", "is_active")
    list_filter = ("allergy_type", "severity", "is_active")
    search_fields = ("allergen", "reaction", *PATIENT_SEARCH)
    list_select_related = ("patient",)
    autocomplete_fields = ("patient",)


@admin.register(Prescription)
class PrescriptionAdmin(BaseAdmin):
    list_display = (
        "prescription_id",
        "medication_name",
        "dosage",
        "frequency",
        "route",
        "patient",
        "provider",
        "status",
        "start_date",
        "end_date",
    )
    list_filter = ("status", "route")
    date_hierarchy = "start_date"
    search_fields = ("medication_name", *PATIENT_SEARCH)
    list_select_related = ("patient", "provider")
    autocomplete_fields = ("patient", "provider", "encounter")


# --- AI proposals, plans, feedback, audit -------------------------------------------------
@admin.register(AIProposedTreatmentPlan)
class AIProposedTreatmentPlanAdmin(BaseAdmin):
    """Only the review can be corrected; what the model wrote and its provenance cannot."""

    # Everything an admin may change; every other field is read-only (see get_readonly_fields).
    EDITABLE_FIELDS = ("status", "doctor_notes")

    list_display = (
        "proposal_id",
        "patient",
        "provider",
        "status",
        "generation_status",
        "ai_model_name",
        "total_tokens",
        "generation_time_seconds",
        "created_at",
    )
    list_filter = ("status", "generation_status", "ai_model_name", "structured_output")
    date_hierarchy = "created_at"
    search_fields = (*PATIENT_SEARCH, "provider__last_name", "=task_id")
    list_select_related = ("patient", "provider")
    fieldsets = (
        (None, {"fields": ("patient", "provider", "retry_of", "created_at", "updated_at")}),
        ("Review (editable)", {"fields": ("status", "doctor_notes", "reviewed_by", "reviewed_at")}),
        (
            "What the model proposed (read-only)",
            {
                "fields": (
                    "proposed_treatment",
                    "clinical_assessment",
                    "treatment_goals",
                    "medications_suggested",
                    "lifestyle_recommendations",
                    "follow_up_recommendations",
                    "warnings_and_precautions",
                    "safety_flags",
                    "used_at",
                )
            },
        ),
        (
            "Generation (read-only)",
            {
                "fields": (
                    "generation_status",
                    "failure_reason",
                    "error_type",
                    "incomplete_reason",
                    "task_id",
                    "attempts",
                    "started_at",
                    "heartbeat_at",
                    "completed_at",
                    "done_reason",
                    "generation_time_seconds",
                )
            },
        ),
        (
            "Provenance (read-only)",
            {
                "classes": ("collapse",),
                "fields": (
                    "ai_model_name",
                    "model_digest",
                    "ollama_version",
                    "ollama_server",
                    "generation_options",
                    "prompt_template_version",
                    "prompt_sha256",
                    "response_sha256",
                    "structured_output",
                    "num_ctx",
                    "prompt_tokens",
                    "completion_tokens",
                    "total_duration_ns",
                    "load_duration_ns",
                    "prompt_eval_duration_ns",
                    "eval_duration_ns",
                    "input_snapshot",
                    "raw_response",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [
            f.name
            for f in self.model._meta.get_fields()
            if f.concrete and f.name not in self.EDITABLE_FIELDS
        ]

    # Proposals come from the generator, and are kept for ever (invariant 4).
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            TreatmentPlanAuditLog.record(
                TreatmentPlanAuditLog.Action.PROPOSAL_REVIEWED,
                actor=request.user,
                proposal=obj,
                patient_id=obj.patient_id,
                changes={
                    "via": "admin",
                    **{
                        name: [form.initial.get(name), form.cleaned_data.get(name)]
                        for name in form.changed_data
                    },
                },
            )


class PlanFeedbackInline(admin.TabularInline):
    model = PlanFeedback
    extra = 0
    can_delete = False
    fields = ("created_at", "message", "read_by_doctor_at")
    readonly_fields = ("created_at", "message")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DoctorTreatmentPlan)
class DoctorTreatmentPlanAdmin(BaseAdmin):
    list_display = (
        "plan_id",
        "plan_title",
        "patient",
        "provider",
        "version",
        "status",
        "is_visible_to_patient",
        "published_at",
        "created_at",
    )
    list_filter = ("status", "is_visible_to_patient")
    date_hierarchy = "created_at"
    search_fields = ("plan_title", *PATIENT_SEARCH, "provider__last_name")
    list_select_related = ("patient", "provider")
    autocomplete_fields = ("patient", "provider", "encounter")
    # The lineage and what the patient did are history, not something to correct.
    readonly_fields = (
        "ai_proposal",
        "previous_version",
        "version",
        "published_at",
        "completed_at",
        "cancelled_at",
        "superseded_at",
        "patient_viewed_at",
        "patient_acknowledged_at",
        "patient_feedback",
        "created_at",
        "updated_at",
    )
    inlines = [PlanFeedbackInline]

    # A plan with a history (audit rows, versions, feedback) is never deleted: cancel it.
    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = (
            TreatmentPlanAuditLog.Action.PLAN_EDITED
            if change
            else TreatmentPlanAuditLog.Action.PLAN_CREATED
        )
        if form.changed_data or not change:
            TreatmentPlanAuditLog.record(
                action,
                actor=request.user,
                plan=obj,
                patient_id=obj.patient_id,
                changes={
                    "via": "admin",
                    **{
                        name: [form.initial.get(name), form.cleaned_data.get(name)]
                        for name in form.changed_data
                    },
                },
            )


@admin.register(PlanFeedback)
class PlanFeedbackAdmin(BaseAdmin):
    list_display = ("feedback_id", "plan", "patient_of", "created_at", "read_by_doctor_at")
    list_filter = (("read_by_doctor_at", admin.EmptyFieldListFilter),)
    date_hierarchy = "created_at"
    search_fields = ("plan__plan_title", "plan__patient__last_name", "=plan__patient__mrn")
    list_select_related = ("plan__patient",)
    fields = ("plan", "message", "created_at", "read_by_doctor_at")
    readonly_fields = ("plan", "message", "created_at")

    @admin.display(description="Patient", ordering="plan__patient__last_name")
    def patient_of(self, obj: PlanFeedback) -> Patient:
        return obj.plan.patient

    # Patients write feedback; nobody rewrites or removes it.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TreatmentPlanAuditLog)
class TreatmentPlanAuditLogAdmin(BaseAdmin):
    """View-only: audit rows are never added, edited or deleted by hand (invariant 5)."""

    list_display = ("audit_id", "timestamp", "action", "actor", "patient", "proposal", "plan")
    list_filter = ("action",)
    date_hierarchy = "timestamp"
    search_fields = ("actor__username", *PATIENT_SEARCH, "=proposal__proposal_id", "=plan__plan_id")
    list_select_related = ("actor", "patient", "proposal", "plan")
    fields = ("audit_id", "timestamp", "action", "actor", "patient", "proposal", "plan", "changes")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
