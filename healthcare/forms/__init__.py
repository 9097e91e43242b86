"""Forms, one module per area; every input reaches a model through one of these.

- plans: the doctor's plan form and the patient's feedback/acknowledge forms
- proposals: review of an AI proposal and the proposal list filter
"""

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
    "PlanFilterForm",
    "ProposalFilterForm",
    "ProposalReviewForm",
    "TreatmentPlanForm",
]
