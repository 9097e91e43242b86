"""UserProfile: the role of a login, and `profile.provider` / `profile.patient`."""

import pytest
from django.core.exceptions import ValidationError

from healthcare.models import UserProfile

from .factories import (
    AdminProfileFactory,
    DoctorProfileFactory,
    PatientProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_doctor_profile_reaches_provider_not_patient():
    profile = DoctorProfileFactory()
    assert profile.provider == profile.user.provider
    assert profile.patient is None


def test_patient_profile_reaches_patient_not_provider():
    profile = PatientProfileFactory()
    assert profile.patient == profile.user.patient
    assert profile.provider is None


def test_admin_profile_has_neither():
    profile = AdminProfileFactory()
    assert profile.provider is None
    assert profile.patient is None


def test_request_user_profile_chain_works_from_a_fresh_user():
    profile = DoctorProfileFactory()
    user = type(profile.user).objects.get(pk=profile.user.pk)
    assert user.profile.provider.provider_id == profile.user.provider.provider_id


def test_doctor_role_without_provider_record_rejected():
    profile = UserProfile(user=UserFactory(), role=UserProfile.Role.DOCTOR)
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    assert caught.value.message_dict["role"] == [
        "A doctor's login must be linked to a Provider record."
    ]
    assert profile.provider is None


def test_patient_role_without_patient_record_rejected():
    profile = UserProfile(user=UserFactory(), role=UserProfile.Role.PATIENT)
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    assert "Patient record" in caught.value.message_dict["role"][0]


def test_unknown_role_rejected():
    profile = UserProfile(user=UserFactory(), role="nurse")
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    assert "role" in caught.value.message_dict


def test_str_names_login_and_role():
    profile = DoctorProfileFactory(user__username="dr.who")
    assert str(profile) == "dr.who (Doctor)"
