"""Every factory makes a valid row: what the tests build obeys the model's own rules."""

import pytest
from django.apps import apps

from . import factories

pytestmark = pytest.mark.django_db


FACTORIES = [
    factories.UserFactory,
    factories.ProviderFactory,
    factories.DoctorProfileFactory,
    factories.PatientFactory,
    factories.PatientProfileFactory,
    factories.AdminProfileFactory,
    factories.EncounterFactory,
    factories.VitalSignFactory,
    factories.DiagnosisFactory,
    factories.LabTestFactory,
    factories.MedicalHistoryFactory,
    factories.FamilyHistoryFactory,
    factories.SocialHistoryFactory,
    factories.AllergyFactory,
    factories.PrescriptionFactory,
    factories.AIProposedTreatmentPlanFactory,
    factories.DoctorTreatmentPlanFactory,
    factories.PlanFeedbackFactory,
    factories.TreatmentPlanAuditLogFactory,
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_creates_a_valid_row(factory):
    obj = factory()
    obj.full_clean()
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_distinct_rows(factory):
    first, second = factory(), factory()
    assert first.pk != second.pk


def test_there_is_a_factory_for_every_model():
    covered = {f._meta.model for f in FACTORIES}
    assert set(apps.get_app_config("healthcare").get_models()) <= covered


def test_doctor_profile_factory_links_user_provider_and_role():
    profile = factories.DoctorProfileFactory()
    assert profile.role == "doctor"
    assert profile.provider is not None
    assert profile.provider.full_name == profile.user.get_full_name()


def test_patient_profile_factory_links_user_patient_and_role():
    profile = factories.PatientProfileFactory()
    assert profile.role == "patient"
    assert profile.patient is not None
    assert profile.user.check_password(factories.TEST_PASSWORD)


def test_encounter_factory_uses_the_patients_primary_doctor():
    encounter = factories.EncounterFactory()
    assert encounter.provider == encounter.patient.primary_doctor
