"""The clinical record: validation with clear messages, and computed properties."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from healthcare.models import Diagnosis, LabTest, Patient, VitalSign

from .factories import (
    AllergyFactory,
    DiagnosisFactory,
    EncounterFactory,
    FamilyHistoryFactory,
    LabTestFactory,
    MedicalHistoryFactory,
    PatientFactory,
    PrescriptionFactory,
    ProviderFactory,
    SocialHistoryFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db


def errors_of(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


# --- Patient ----------------------------------------------------------------------------------
def test_patient_full_name_and_str():
    patient = PatientFactory(first_name="Maria", last_name="Gonzalez", mrn="IH-1")
    assert patient.full_name == "Maria Gonzalez"
    assert str(patient) == "Maria Gonzalez (IH-1)"


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1960, 5, 17), date(2020, 5, 16), 59),  # the day before the birthday
        (date(1960, 5, 17), date(2020, 5, 17), 60),  # on the birthday
        (date(1960, 5, 17), date(2020, 12, 31), 60),
        (date(2000, 2, 29), date(2021, 2, 28), 20),  # leap-day birthday, common year
        (date(2000, 2, 29), date(2021, 3, 1), 21),
    ],
)
def test_age_counts_whole_years_up_to_the_birthday(born, on, age):
    assert Patient(date_of_birth=born).age_on(on) == age


def test_age_property_uses_today():
    today = timezone.localdate()
    patient = Patient(date_of_birth=today.replace(year=today.year - 40))
    assert patient.age == 40


def test_gender_is_the_display_of_sex():
    assert Patient(sex=Patient.Sex.MALE).gender == "Male"


def test_future_date_of_birth_rejected():
    patient = PatientFactory.build(primary_doctor=None)
    patient.date_of_birth = timezone.localdate() + timedelta(days=1)
    assert errors_of(patient)["date_of_birth"] == ["Date of birth cannot be in the future."]


def test_date_of_birth_before_1890_rejected():
    patient = PatientFactory.build(primary_doctor=None, date_of_birth=date(1850, 1, 1))
    assert "date_of_birth" in errors_of(patient)


def test_timestamps_are_filled_automatically():
    patient = PatientFactory()
    assert patient.created_at is not None
    assert patient.updated_at >= patient.created_at


# --- Provider ---------------------------------------------------------------------------------
def test_provider_full_name_and_str():
    provider = ProviderFactory(first_name="Emily", last_name="Chen")
    assert provider.full_name == "Emily Chen"
    assert str(provider) == "Dr. Emily Chen"


@pytest.mark.parametrize("npi", ["12345", "12345678901", "12345abcde"])
def test_malformed_npi_rejected(npi):
    provider = ProviderFactory.build(npi=npi)
    assert "An NPI is exactly ten digits." in errors_of(provider)["npi"]


# --- Vital signs ------------------------------------------------------------------------------
def vital(**values) -> VitalSign:
    encounter = EncounterFactory()
    return VitalSignFactory.build(encounter=encounter, **values)


def test_valid_vitals_pass():
    vital().full_clean()


def test_negative_heart_rate_rejected_with_clear_message():
    assert errors_of(vital(heart_rate=-5))["heart_rate"] == ["Heart rate must be at least 20."]


def test_oxygen_saturation_above_100_rejected():
    assert errors_of(vital(oxygen_saturation=140))["oxygen_saturation"] == [
        "Oxygen saturation must be at most 100."
    ]


@pytest.mark.parametrize(("systolic", "diastolic"), [(120, 120), (110, 130)])
def test_diastolic_not_below_systolic_rejected(systolic, diastolic):
    errors = errors_of(vital(blood_pressure_systolic=systolic, blood_pressure_diastolic=diastolic))
    assert errors["blood_pressure_diastolic"] == ["Diastolic pressure must be below systolic."]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("blood_pressure_systolic", 350, "Systolic blood pressure must be at most 300."),
        ("respiratory_rate", 2, "Respiratory rate must be at least 4."),
        ("weight_kg", Decimal("0.1"), "Weight must be at least 0.2."),
        ("height_cm", Decimal("300.0"), "Height must be at most 272."),
        ("blood_glucose", Decimal("5.0"), "Blood glucose must be at least 10."),
    ],
)
def test_impossible_values_rejected(field, value, message):
    assert errors_of(vital(**{field: value}))[field] == [message]


@pytest.mark.parametrize(
    ("temperature", "unit", "ok"),
    [
        (Decimal("36.8"), "C", True),
        (Decimal("98.6"), "F", True),
        (Decimal("50.0"), "C", False),
        (Decimal("20.0"), "C", False),
        (Decimal("98.6"), "C", False),  # a Fahrenheit value typed as Celsius
        (Decimal("70.0"), "F", False),
    ],
)
def test_temperature_range_depends_on_unit(temperature, unit, ok):
    obj = vital(temperature=temperature, temperature_unit=unit)
    if ok:
        obj.full_clean()
    else:
        assert "Temperature must be between" in errors_of(obj)["temperature"][0]


def test_vitals_in_the_future_rejected():
    obj = vital(recorded_at=timezone.now() + timedelta(hours=1))
    assert errors_of(obj)["recorded_at"] == ["Vitals cannot be recorded in the future."]


def test_bmi_computed_on_save():
    obj = VitalSignFactory(weight_kg=Decimal("80.0"), height_cm=Decimal("175.0"), bmi=None)
    assert obj.bmi == Decimal("26.1")


def test_bmi_left_empty_without_height():
    obj = VitalSignFactory(height_cm=None, bmi=None)
    assert obj.bmi is None


def test_vital_reaches_its_patient_and_formats_blood_pressure():
    obj = VitalSignFactory(blood_pressure_systolic=128, blood_pressure_diastolic=82)
    assert obj.encounter.patient == obj.patient
    assert obj.blood_pressure == "128/82"
    assert VitalSign(blood_pressure_systolic=120).blood_pressure == ""


# --- Diagnoses --------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["I10", "E11.9", "J44.1", "Z91.010", "N18.30", "U07.1"])
def test_valid_icd10_codes_accepted(code):
    DiagnosisFactory.build(encounter=EncounterFactory(), icd10_code=code).full_clean()


@pytest.mark.parametrize("code", ["110", "I1", "E11.", "E11.12345", "E 11.9", "hypertension"])
def test_malformed_icd10_rejected_with_clear_message(code):
    obj = DiagnosisFactory.build(encounter=EncounterFactory(), icd10_code=code)
    message = errors_of(obj)["icd10_code"][0]
    assert message.startswith("Enter a valid ICD-10 code such as I10")


def test_icd10_code_normalised_to_upper_case_on_save():
    diagnosis = DiagnosisFactory(icd10_code=" e11.9 ")
    diagnosis.refresh_from_db()
    assert diagnosis.icd10_code == "E11.9"
    assert str(diagnosis) == f"E11.9 {diagnosis.description}"


def test_active_statuses_cover_active_and_chronic():
    assert set(Diagnosis.ACTIVE_STATUSES) == {"active", "chronic"}


# --- Labs, history, allergies, prescriptions ---------------------------------------------------
@pytest.mark.parametrize(("flag", "abnormal"), [("", False), ("H", True), ("LL", True)])
def test_lab_is_abnormal_follows_the_flag(flag, abnormal):
    assert LabTest(abnormal_flag=flag).is_abnormal is abnormal


def test_lab_result_before_order_rejected():
    lab = LabTestFactory.build(
        patient=PatientFactory(), ordered_date=date(2024, 5, 2), result_date=date(2024, 5, 1)
    )
    assert errors_of(lab)["result_date"] == ["The result date is before the order date."]


def test_lab_str_shows_value_and_unit():
    lab = LabTestFactory.build(test_name="Hemoglobin A1c", result_value="8.5", unit="%")
    assert str(lab) == "Hemoglobin A1c: 8.5 %"


def test_family_history_age_at_diagnosis_limited():
    obj = FamilyHistoryFactory.build(patient=PatientFactory(), age_at_diagnosis=150)
    assert errors_of(obj)["age_at_diagnosis"] == ["Age at diagnosis must be at most 120."]


def test_social_history_negative_pack_years_rejected():
    obj = SocialHistoryFactory.build(patient=PatientFactory(), pack_years=Decimal("-1"))
    assert errors_of(obj)["pack_years"] == ["Pack-years must be at least 0."]


def test_prescription_end_before_start_rejected():
    patient = PatientFactory()
    obj = PrescriptionFactory.build(
        patient=patient,
        provider=patient.primary_doctor,
        start_date=date(2024, 5, 2),
        end_date=date(2024, 5, 1),
    )
    assert errors_of(obj)["end_date"] == ["The end date is before the start date."]


def test_str_of_history_allergy_and_prescription():
    assert str(MedicalHistoryFactory(condition="Appendectomy")) == "Appendectomy"
    allergy = AllergyFactory(allergen="Penicillin", severity="severe")
    assert str(allergy) == "Penicillin (Severe)"
    rx = PrescriptionFactory(medication_name="Lisinopril", dosage="10 mg", frequency="once daily")
    assert str(rx) == "Lisinopril 10 mg once daily"


def test_vital_sign_critical_findings_on_the_model():
    from healthcare.models import VitalSign

    vital = VitalSign(blood_pressure_systolic=185, heart_rate=72, oxygen_saturation=97)
    assert vital.critical_findings() == ["Systolic 185 mmHg"]
    assert VitalSign(heart_rate=72).critical_findings() == []
