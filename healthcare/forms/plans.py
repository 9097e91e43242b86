"""Forms of the treatment plan workflow (doctor and patient)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

from ..models import DoctorTreatmentPlan, Encounter
from .widgets import bootstrapify

TEXT_MAX = 5000  # per clinical section: long enough for a plan, short enough to read
FEEDBACK_MAX = DoctorTreatmentPlan.FEEDBACK_MAX_LENGTH
MAX_PLAN_DAYS = 3653  # ten years: a later end date is almost surely a typo in the year
MAX_REVIEW_DAYS = 731
# The plan's free-text sections: its content fields that are text (not the title or dates).
TEXT_SECTIONS = tuple(
    name
    for name in DoctorTreatmentPlan.CONTENT_FIELDS
    if isinstance(DoctorTreatmentPlan._meta.get_field(name), models.TextField)
)


class DateInput(forms.DateInput):
    input_type = "date"


class TreatmentPlanForm(forms.ModelForm):
    """The doctor's plan. Dates must make sense: end and review after the start."""

    class Meta:
        model = DoctorTreatmentPlan
        fields = (*DoctorTreatmentPlan.CONTENT_FIELDS, "encounter")
        widgets = {
            "plan_start_date": DateInput(format="%Y-%m-%d"),
            "plan_end_date": DateInput(format="%Y-%m-%d"),
            "next_review_date": DateInput(format="%Y-%m-%d"),
            **{name: forms.Textarea(attrs={"rows": 4}) for name in TEXT_SECTIONS},
        }
        labels = {"follow_up_instructions": "Follow-up instructions", "encounter": "Visit"}
        help_texts = {
            "warning_signs": "Symptoms that should make the patient call the practice.",
            "emergency_instructions": "When to call emergency services.",
        }

    # Set by the "Save and publish" submit button; not a plan field.
    publish = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, patient=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        patient = patient or (self.instance.patient if self.instance.patient_id else None)
        # Only this patient's visits can be linked (another patient's id is refused as invalid).
        encounters = (
            Encounter.objects.filter(patient=patient) if patient else Encounter.objects.none()
        )
        self.fields["encounter"].queryset = encounters.order_by("-encounter_date")
        self.fields["encounter"].required = False
        self.fields["encounter"].help_text = "Optional: the visit this plan comes from."
        for name in TEXT_SECTIONS:
            field = self.fields[name]
            field.max_length = TEXT_MAX
            field.validators.append(MaxLengthValidator(TEXT_MAX))
            field.widget.attrs["maxlength"] = str(TEXT_MAX)
        self.fields["plan_title"].widget.attrs["maxlength"] = "200"
        bootstrapify(self)

    def clean_plan_start_date(self):
        start = self.cleaned_data["plan_start_date"]
        today = timezone.localdate()
        if start and not (today - timedelta(days=366) <= start <= today + timedelta(days=366)):
            raise forms.ValidationError("The start date must be within a year of today.")
        return start

    def clean(self):
        data = super().clean()
        start = data.get("plan_start_date")
        end = data.get("plan_end_date")
        review = data.get("next_review_date")
        if start and end and end <= start:
            self.add_error("plan_end_date", "The end date must be after the start date.")
        elif start and end and end > start + timedelta(days=MAX_PLAN_DAYS):
            self.add_error("plan_end_date", "A plan cannot run more than 10 years; check the year.")
        if start and review and review < start:
            self.add_error("next_review_date", "The review date cannot be before the start date.")
        elif start and review and review > start + timedelta(days=MAX_REVIEW_DAYS):
            self.add_error(
                "next_review_date", "The next review should be within 2 years; check the year."
            )
        if end and review and review > end:
            self.add_error("next_review_date", "The review date cannot be after the end date.")
        return data


class PlanFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *DoctorTreatmentPlan.Status.choices], required=False
    )
    q = forms.CharField(label="Patient or title", max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrapify(self)


class PatientFeedbackForm(forms.Form):
    feedback_text = forms.CharField(
        label="Your message to your doctor",
        max_length=FEEDBACK_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": str(FEEDBACK_MAX)}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrapify(self)

    def clean_feedback_text(self) -> str:
        text = self.cleaned_data["feedback_text"].strip()
        if not text:
            raise forms.ValidationError("Please write a message before sending.")
        return text


class AcknowledgePlanForm(forms.Form):
    """Empty on purpose: acknowledging is one button, but it still goes through a form."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput, initial=True)
