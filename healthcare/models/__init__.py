"""The models of InHealth, one module per area.

- clinical: the patient record (Patient, Provider, Encounter, VitalSign, Diagnosis, ...)
- accounts: UserProfile (the role of a login)
- proposals: AIProposedTreatmentPlan (what the model wrote; doctors only)
- plans: DoctorTreatmentPlan and PlanFeedback (what the doctor wrote; patients see it)
- audit: TreatmentPlanAuditLog (append-only trail)
"""

from .accounts import UserProfile
from .audit import TreatmentPlanAuditLog
from .clinical import (
    Allergy,
    Diagnosis,
    Encounter,
    FamilyHistory,
    LabTest,
    MedicalHistory,
    Patient,
    Prescription,
    Provider,
    SocialHistory,
    VitalSign,
)
from .plans import DoctorTreatmentPlan, PlanFeedback
from .proposals import AIProposedTreatmentPlan

__all__ = [
    "AIProposedTreatmentPlan",
    "Allergy",
    "Diagnosis",
    "DoctorTreatmentPlan",
    "Encounter",
    "FamilyHistory",
    "LabTest",
    "MedicalHistory",
    "Patient",
    "PlanFeedback",
    "Prescription",
    "Provider",
    "SocialHistory",
    "TreatmentPlanAuditLog",
    "UserProfile",
    "VitalSign",
]
