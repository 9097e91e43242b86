"""The doctor's patient search (patients list)."""

from __future__ import annotations

from django import forms


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Search by name or MRN",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name or MRN",
                "class": "form-control",
                "data-testid": "patient-search-input",
            }
        ),
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
