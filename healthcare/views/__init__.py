"""Views, one module per area; re-exported here so `views.<name>` works as in the spec.

- home: the landing page that sends each role to its dashboard
- dashboards: doctor and patient dashboards
- patients: doctor's patient list and read-only patient chart
- generation: Generate page, live status and retry of background AI generation
- proposals: doctor's AI proposal list, detail, review
- plans: doctor's treatment plans (list, detail, create, edit, lifecycle actions)
- patient_portal: patient's published plans, acknowledge, feedback
"""

from .dashboards import doctor_dashboard, patient_dashboard
from .generation import (
    doctor_ai_proposal_status,
    doctor_generate_ai_proposal,
    doctor_retry_ai_proposal,
)
from .home import home
from .patient_portal import (
    patient_acknowledge_treatment_plan,
    patient_send_feedback,
    patient_treatment_plans,
    patient_view_treatment_plan,
)
from .patients import doctor_patient_chart, doctor_patients_list
from .plans import (
    doctor_cancel_treatment_plan,
    doctor_complete_treatment_plan,
    doctor_create_treatment_plan,
    doctor_edit_treatment_plan,
    doctor_publish_treatment_plan,
    doctor_revise_treatment_plan,
    doctor_treatment_plans,
    doctor_view_treatment_plan,
)
from .proposals import doctor_ai_proposals, doctor_review_ai_proposal, doctor_view_ai_proposal

__all__ = [
    "doctor_ai_proposal_status",
    "doctor_ai_proposals",
    "doctor_cancel_treatment_plan",
    "doctor_complete_treatment_plan",
    "doctor_create_treatment_plan",
    "doctor_dashboard",
    "doctor_edit_treatment_plan",
    "doctor_generate_ai_proposal",
    "doctor_patient_chart",
    "doctor_patients_list",
    "doctor_publish_treatment_plan",
    "doctor_retry_ai_proposal",
    "doctor_review_ai_proposal",
    "doctor_revise_treatment_plan",
    "doctor_treatment_plans",
    "doctor_view_ai_proposal",
    "doctor_view_treatment_plan",
    "home",
    "patient_acknowledge_treatment_plan",
    "patient_dashboard",
    "patient_send_feedback",
    "patient_treatment_plans",
    "patient_view_treatment_plan",
]
