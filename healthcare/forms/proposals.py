"""Forms of the AI proposal review (doctor only)."""

from __future__ import annotations

from django import forms

from ..models import AIProposedTreatmentPlan
from .widgets import bootstrapify

NOTES_MAX = 5000
Status = AIProposedTreatmentPlan.Status


class ProposalReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            (Status.REVIEWED, "Reviewed (no decision yet)"),
            (Status.ACCEPTED, "Accept"),
            (Status.MODIFIED, "Accept with modifications"),
            (Status.REJECTED, "Reject"),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    doctor_notes = forms.CharField(
        label="Notes",
        max_length=NOTES_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": str(NOTES_MAX)}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["doctor_notes"].widget.attrs["class"] = "form-control"

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        notes = (data.get("doctor_notes") or "").strip()
        if decision in (Status.MODIFIED, Status.REJECTED) and not notes:
            self.add_error("doctor_notes", "Please say what you changed or why you rejected it.")
        data["doctor_notes"] = notes
        return data


class ProposalFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Review", choices=[("", "All review states"), *Status.choices], required=False
    )
    generation_status = forms.ChoiceField(
        label="Generation",
        choices=[("", "Any generation state"), *AIProposedTreatmentPlan.GenerationStatus.choices],
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrapify(self)
