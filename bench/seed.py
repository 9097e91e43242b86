"""Data for the benchmarks, made with the test factories (run inside `manage.py shell`)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from healthcare.tests.factories import (
    TEST_PASSWORD,
    AllergyFactory,
    DiagnosisFactory,
    DoctorProfileFactory,
    DoctorTreatmentPlanFactory,
    EncounterFactory,
    LabTestFactory,
    MedicalHistoryFactory,
    PatientProfileFactory,
    PrescriptionFactory,
    SocialHistoryFactory,
    VitalSignFactory,
)


def typical_record(patient, doctor) -> None:
    """A realistic chart: 5 visits with vitals, 3 diagnoses, labs, history, meds, allergy."""
    for i in range(5):
        encounter = EncounterFactory(
            patient=patient, provider=doctor, encounter_date=timezone.now() - timedelta(days=60 * i)
        )
        VitalSignFactory(
            encounter=encounter,
            recorded_at=encounter.encounter_date,
            blood_pressure_systolic=150 + 5 * i,
        )
        if i < 3:
            DiagnosisFactory(encounter=encounter)
    for _ in range(6):
        LabTestFactory(patient=patient)
    MedicalHistoryFactory(patient=patient)
    SocialHistoryFactory(patient=patient)
    AllergyFactory(patient=patient)
    PrescriptionFactory(patient=patient, provider=doctor)


def site(n_patients: int = 8) -> dict:
    doctor = DoctorProfileFactory().user.provider
    patients = []
    for _ in range(n_patients):
        profile = PatientProfileFactory(patient__primary_doctor=doctor)
        typical_record(profile.user.patient, doctor)
        patients.append(profile.user.patient)
    portal = patients[0]
    for _ in range(3):
        plan = DoctorTreatmentPlanFactory(patient=portal, provider=doctor)
        plan.publish_to_patient()
    return {
        "doctor": doctor.user.username,
        "patient": portal.user.username,
        "password": TEST_PASSWORD,
        "patient_ids": [p.pk for p in patients],
    }
