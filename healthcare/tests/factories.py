"""factory-boy factories, one per model."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from healthcare import models

TEST_PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy's signature
        if create:
            obj.save()


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Provider

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    specialty = "Internal Medicine"
    npi = factory.Sequence(lambda n: f"{1000000000 + n}")


class DoctorProfileFactory(factory.django.DjangoModelFactory):
    """A doctor's login: User + Provider + UserProfile(role=doctor)."""

    class Meta:
        model = models.UserProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"doctor{n}"))
    role = models.UserProfile.Role.DOCTOR

    @factory.post_generation
    def provider(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is None:
            ProviderFactory(
                user=obj.user, first_name=obj.user.first_name, last_name=obj.user.last_name
            )
        elif create and extracted is not None:
            extracted.user = obj.user
            extracted.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Patient

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.LazyFunction(lambda: date(1960, 5, 17))
    sex = models.Patient.Sex.FEMALE
    mrn = factory.Sequence(lambda n: f"MRN{100000 + n}")
    primary_doctor = factory.SubFactory(ProviderFactory)


class PatientProfileFactory(factory.django.DjangoModelFactory):
    """A patient's login: User + Patient + UserProfile(role=patient)."""

    class Meta:
        model = models.UserProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"patient{n}"))
    role = models.UserProfile.Role.PATIENT

    @factory.post_generation
    def patient(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is None:
            PatientFactory(user=obj.user, **kwargs)
        elif create and extracted is not None:
            extracted.user = obj.user
            extracted.save()


class AdminProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.UserProfile

    user = factory.SubFactory(
        UserFactory,
        username=factory.Sequence(lambda n: f"admin{n}"),
        is_staff=True,
        is_superuser=True,
    )
    role = models.UserProfile.Role.ADMIN


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Encounter

    patient = factory.SubFactory(PatientFactory)
    provider = factory.LazyAttribute(lambda e: e.patient.primary_doctor)
    encounter_date = factory.LazyFunction(timezone.now)
    encounter_type = models.Encounter.EncounterType.OFFICE
    chief_complaint = "Routine follow-up"


class VitalSignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.VitalSign

    encounter = factory.SubFactory(EncounterFactory)
    recorded_at = factory.LazyFunction(timezone.now)
    blood_pressure_systolic = 128
    blood_pressure_diastolic = 82
    heart_rate = 72
    respiratory_rate = 14
    temperature = Decimal("36.8")
    oxygen_saturation = 98
    weight_kg = Decimal("80.0")
    height_cm = Decimal("175.0")
    blood_glucose = Decimal("95.0")


class DiagnosisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Diagnosis

    encounter = factory.SubFactory(EncounterFactory)
    description = "Essential (primary) hypertension"
    icd10_code = "I10"
    diagnosed_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))


class LabTestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.LabTest

    patient = factory.SubFactory(PatientFactory)
    test_name = "Hemoglobin A1c"
    test_code = "4548-4"
    ordered_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=7))
    result_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=6))
    result_value = "8.5"
    unit = "%"
    reference_range = "4.0-5.6"
    abnormal_flag = models.LabTest.AbnormalFlag.HIGH


class MedicalHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.MedicalHistory

    patient = factory.SubFactory(PatientFactory)
    condition = "Appendectomy"
    diagnosed_date = date(2001, 3, 1)
    status = models.MedicalHistory.Status.RESOLVED


class FamilyHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.FamilyHistory

    patient = factory.SubFactory(PatientFactory)
    relationship = models.FamilyHistory.Relationship.FATHER
    condition = "Myocardial infarction"
    age_at_diagnosis = 58


class SocialHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SocialHistory

    patient = factory.SubFactory(PatientFactory)
    smoking_status = models.SocialHistory.Smoking.FORMER
    pack_years = Decimal("10.0")
    alcohol_use = models.SocialHistory.Alcohol.OCCASIONAL
    drug_use = models.SocialHistory.DrugUse.NONE
    exercise = "Walks 20 minutes twice a week"
    diet = "High in processed food"
    occupation = "Accountant"
    notes = ""


class AllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Allergy

    patient = factory.SubFactory(PatientFactory)
    allergen = "Penicillin"
    allergy_type = models.Allergy.AllergyType.DRUG
    severity = models.Allergy.Severity.SEVERE
    reaction = "Hives, throat swelling"


class PrescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Prescription

    patient = factory.SubFactory(PatientFactory)
    provider = factory.LazyAttribute(lambda p: p.patient.primary_doctor)
    medication_name = "Lisinopril"
    dosage = "10 mg"
    frequency = "once daily"
    route = models.Prescription.Route.ORAL


class AIProposedTreatmentPlanFactory(factory.django.DjangoModelFactory):
    """A finished proposal awaiting review."""

    class Meta:
        model = models.AIProposedTreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    provider = factory.LazyAttribute(lambda p: p.patient.primary_doctor)
    generation_status = models.AIProposedTreatmentPlan.GenerationStatus.COMPLETED
    proposed_treatment = "ASSESSMENT\nHypertension, uncontrolled.\nMEDICATIONS\nLisinopril 20 mg."
    clinical_assessment = "Hypertension, uncontrolled."
    treatment_goals = "BP below 130/80 within 3 months."
    medications_suggested = "Increase lisinopril to 20 mg once daily."
    lifestyle_recommendations = "Reduce salt; walk 30 minutes daily."
    follow_up_recommendations = "BP check in 2 weeks."
    warnings_and_precautions = "Penicillin allergy noted. Monitor potassium."
    ai_model_name = "llama3.2"
    generation_time_seconds = 4.2
    prompt_tokens = 900
    completion_tokens = 300
    done_reason = "stop"
    completed_at = factory.LazyFunction(timezone.now)


class DoctorTreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DoctorTreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    provider = factory.LazyAttribute(lambda p: p.patient.primary_doctor)
    plan_title = "Hypertension Management Plan"
    assessment = "Uncontrolled stage 2 hypertension."
    treatment_goals = "BP below 130/80."
    medications = "Lisinopril 20 mg once daily."
    lifestyle_modifications = "Reduce salt intake."
    follow_up_instructions = "Return in 2 weeks."


class PlanFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PlanFeedback

    plan = factory.SubFactory(DoctorTreatmentPlanFactory)
    message = "I have a question about the medication schedule."


class TreatmentPlanAuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TreatmentPlanAuditLog

    action = models.TreatmentPlanAuditLog.Action.PLAN_CREATED
    plan = factory.SubFactory(DoctorTreatmentPlanFactory)
    patient = factory.LazyAttribute(lambda a: a.plan.patient)
    changes = factory.LazyFunction(dict)
