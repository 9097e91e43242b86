"""Forms, one module per area; every input reaches a model through one of these.

- patients: the doctor's patient search
- plans: the doctor's plan form and the patient's feedback/acknowledge forms
- proposals: review of an AI proposal and the proposal list filter
"""

from .patients import PatientSearchForm
from .plans import (
    AcknowledgePlanForm,
    PatientFeedbackForm,
    PlanFilterForm,
    TreatmentPlanForm,
)
from .proposals import ProposalFilterForm, ProposalReviewForm

__all__ = [
    "AcknowledgePlanForm",
    "PatientFeedbackForm",
    "PatientSearchForm",
    "PlanFilterForm",
    "ProposalFilterForm",
    "ProposalReviewForm",
    "TreatmentPlanForm",
]
