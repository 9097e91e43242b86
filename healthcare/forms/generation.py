"""The Generate button's form: no field to fill, but the record must be ready for the model."""

from __future__ import annotations

from django import forms


class GenerateProposalForm(forms.Form):
    """Pressing Generate confirms the doctor saw what will be sent; a thin record is refused
    here, with what is missing, instead of failing later in the worker."""

    def __init__(self, *args, ready: bool = True, problems: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ready = ready
        self.problems = problems or []

    def clean(self):
        cleaned = super().clean()
        if not self.ready:
            detail = "; ".join(self.problems) or "the record is too thin"
            raise forms.ValidationError(
                f"This record is not ready for an AI proposal: {detail}. "
                "Add the missing data to the chart first.",
                code="not_ready",
            )
        return cleaned
