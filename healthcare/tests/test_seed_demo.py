"""`manage.py seed_demo`: idempotent, varied, valid demo data, and the logins printed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.utils import timezone

from healthcare import demo_data
from healthcare.models import (
    Allergy,
    Diagnosis,
    Encounter,
    LabTest,
    Patient,
    Prescription,
    Provider,
    SocialHistory,
    UserProfile,
    VitalSign,
)
from healthcare.permissions import patients_in_care_of

pytestmark = pytest.mark.django_db
User = get_user_model()


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [*apps.get_app_config("healthcare").get_models(), User]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def seeded():
    return seed()


def test_second_run_creates_nothing(seeded):
    before = counts()
    output = seed()
    assert counts() == before
    assert "nothing created" in output


def test_first_run_reports_what_it_created(seeded):
    assert seeded.startswith("Created: ")
    assert "8 Patient" in seeded


def test_prints_every_login_with_role_and_password(seeded):
    assert "Username" in seeded and "Role" in seeded and "Password" in seeded
    people = [demo_data.ADMIN, *demo_data.DOCTORS, *demo_data.PATIENTS]
    lines = seeded.splitlines()
    for person in people:
        line = next(x for x in lines if x.startswith(person.username + " "))
        assert demo_data.DEMO_PASSWORD in line
    assert sum(" patient " in x for x in lines) == 8
    # The table is printed on a re-run too.
    assert "maria.gonzalez" in seed()


def test_logins_work_with_the_demo_password(seeded):
    for username in ["admin", "dr.chen", "maria.gonzalez"]:
        assert User.objects.get(username=username).check_password(demo_data.DEMO_PASSWORD)


def test_custom_password(db):
    output = seed("--password", "Another-demo-pass-77")
    assert "Another-demo-pass-77" in output
    assert User.objects.get(username="dr.okafor").check_password("Another-demo-pass-77")
    # Re-running with another password resets the demo logins to it, and adds nothing.
    before = counts()
    seed("--password", "Third-demo-pass-99")
    assert counts() == before
    assert User.objects.get(username="dr.okafor").check_password("Third-demo-pass-99")


def test_weak_password_refused_before_anything_is_written(db):
    with pytest.raises(CommandError, match="refused"):
        seed("--password", "short")
    assert User.objects.count() == 0


def test_roles(seeded):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.profile.role == UserProfile.Role.ADMIN
    doctors = UserProfile.objects.filter(role=UserProfile.Role.DOCTOR)
    assert doctors.count() >= 2
    assert all(p.provider is not None for p in doctors)
    patients = UserProfile.objects.filter(role=UserProfile.Role.PATIENT)
    assert patients.count() == 8
    assert all(p.patient is not None for p in patients)
    assert Patient.objects.filter(user__isnull=True).count() == 0


def test_each_patient_has_enough_for_ai_generation(seeded):
    for patient in Patient.objects.all():
        assert VitalSign.objects.filter(encounter__patient=patient).count() >= 3, patient
        assert Diagnosis.objects.filter(encounter__patient=patient).exists(), patient
        assert patient.medical_history.exists(), patient
        assert patient.family_history.exists(), patient
        assert SocialHistory.objects.filter(patient=patient).exists(), patient
        assert patient.encounters.filter(provider__isnull=False).exists(), patient


def test_records_are_varied_and_realistic(seeded):
    codes = set(Diagnosis.objects.values_list("icd10_code", flat=True))
    assert {"I10", "E11.9", "J44.9", "I50.9"} <= codes
    diabetic = Diagnosis.objects.get(icd10_code="E11.9").encounter.patient
    assert LabTest.objects.filter(
        patient=diabetic, test_name="Hemoglobin A1c", abnormal_flag="H"
    ).exists()
    assert Allergy.objects.filter(allergen="Penicillin").exists()
    assert Prescription.objects.filter(status=Prescription.Status.ACTIVE).count() >= 8
    assert LabTest.objects.exclude(abnormal_flag="").exclude(reference_range="").exists()
    healthy = Patient.objects.get(mrn="IH-100235")
    assert not Diagnosis.objects.filter(
        encounter__patient=healthy, icd10_code__in=["I10", "E11.9", "J44.9", "I50.9"]
    ).exists()
    assert SocialHistory.objects.exclude(notes="").count() >= 1


def test_at_least_two_patients_have_critical_vitals_in_the_last_24_hours(seeded):
    critical = Q(blood_pressure_systolic__gte=180) | Q(heart_rate__gte=120)
    critical |= Q(oxygen_saturation__lte=90)
    recent = VitalSign.objects.filter(critical, recorded_at__gte=timezone.now() - timedelta(1))
    patients = {v.encounter.patient_id for v in recent.select_related("encounter")}
    assert len(patients) >= 2


def test_nothing_in_the_future(seeded):
    now = timezone.now()
    assert not VitalSign.objects.filter(recorded_at__gt=now).exists()
    assert not Encounter.objects.filter(encounter_date__gt=now).exists()
    assert not LabTest.objects.filter(result_date__gt=timezone.localdate()).exists()


def test_every_doctor_has_patients_and_care_by_encounter_is_shown(seeded):
    for provider in Provider.objects.all():
        assert patients_in_care_of(provider).exists(), provider
    okafor = Provider.objects.get(user__username="dr.okafor")
    seen_not_primary = patients_in_care_of(okafor).exclude(primary_doctor=okafor)
    assert seen_not_primary.exists()


def test_every_seeded_row_is_valid(seeded):
    for model in apps.get_app_config("healthcare").get_models():
        for obj in model.objects.all():
            obj.full_clean()
