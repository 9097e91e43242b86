"""Access helpers and the role decorator (invariant 2): outsiders get 404, wrong roles 403."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from healthcare import permissions
from healthcare.models import DoctorTreatmentPlan
from healthcare.permissions import Role

from .factories import (
    AIProposedTreatmentPlanFactory,
    DoctorTreatmentPlanFactory,
    EncounterFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def request_as(user):
    request = RequestFactory().get("/somewhere/?x=1")
    request.user = user
    return request


# --- Doctors and their patients ----------------------------------------------------------------
def test_patients_in_care_are_primary_and_encounter_patients(doctor, patient, unrelated_patient):
    seen = PatientFactory(primary_doctor=unrelated_patient.primary_doctor)
    EncounterFactory(patient=seen, provider=doctor)
    EncounterFactory(patient=seen, provider=doctor)  # two encounters: still listed once
    EncounterFactory(patient=patient, provider=doctor)
    in_care = list(permissions.patients_in_care_of(doctor))
    assert sorted(p.pk for p in in_care) == sorted([patient.pk, seen.pk])
    assert unrelated_patient not in in_care


def test_doctor_fetches_own_patient(doctor_user, patient):
    assert permissions.get_patient_for_doctor(request_as(doctor_user), patient.pk) == patient


def test_doctor_cannot_fetch_patient_outside_care(doctor_user, unrelated_patient):
    with pytest.raises(Http404):
        permissions.get_patient_for_doctor(request_as(doctor_user), unrelated_patient.pk)


def test_encounter_makes_a_patient_in_care(doctor, doctor_user, unrelated_patient):
    EncounterFactory(patient=unrelated_patient, provider=doctor)
    request = request_as(doctor_user)
    assert permissions.get_patient_for_doctor(request, unrelated_patient.pk) == unrelated_patient


def test_missing_patient_is_404(doctor_user):
    with pytest.raises(Http404):
        permissions.get_patient_for_doctor(request_as(doctor_user), 999_999)


def test_patient_login_cannot_use_doctor_helpers(patient_user, patient):
    request = request_as(patient_user)
    with pytest.raises(Http404):
        permissions.get_patient_for_doctor(request, patient.pk)
    plan = DoctorTreatmentPlanFactory(patient=patient)
    with pytest.raises(Http404):
        permissions.get_plan_for_doctor(request, plan.pk)


def test_doctor_fetches_only_own_proposals(doctor, doctor_user, patient, other_doctor):
    own = AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    # Another doctor's proposal about the same patient stays theirs.
    theirs = AIProposedTreatmentPlanFactory(patient=patient, provider=other_doctor)
    request = request_as(doctor_user)
    assert permissions.get_proposal_for_doctor(request, own.pk) == own
    with pytest.raises(Http404):
        permissions.get_proposal_for_doctor(request, theirs.pk)


def test_doctor_fetches_only_own_plans(doctor, doctor_user, patient, other_patient):
    own = DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    theirs = DoctorTreatmentPlanFactory(patient=other_patient)
    request = request_as(doctor_user)
    assert permissions.get_plan_for_doctor(request, own.pk) == own
    with pytest.raises(Http404):
        permissions.get_plan_for_doctor(request, theirs.pk)


# --- Patients and their plans ------------------------------------------------------------------
def published(**kwargs) -> DoctorTreatmentPlan:
    return DoctorTreatmentPlanFactory(
        status=DoctorTreatmentPlan.Status.ACTIVE, is_visible_to_patient=True, **kwargs
    )


def test_patient_fetches_own_published_plan(patient_user, patient):
    plan = published(patient=patient)
    assert permissions.get_plan_for_patient(request_as(patient_user), plan.pk) == plan


def test_patient_cannot_fetch_another_patients_plan(patient_user, other_patient):
    plan = published(patient=other_patient)
    with pytest.raises(Http404):
        permissions.get_plan_for_patient(request_as(patient_user), plan.pk)


@pytest.mark.parametrize("visible", [False, True])
def test_drafts_never_reach_the_patient(patient_user, patient, visible):
    draft = DoctorTreatmentPlanFactory(
        patient=patient, status=DoctorTreatmentPlan.Status.DRAFT, is_visible_to_patient=visible
    )
    assert draft not in permissions.plans_for_patient(patient)
    with pytest.raises(Http404):
        permissions.get_plan_for_patient(request_as(patient_user), draft.pk)


def test_unpublished_active_plan_hidden_from_patient(patient_user, patient):
    hidden = DoctorTreatmentPlanFactory(
        patient=patient, status=DoctorTreatmentPlan.Status.ACTIVE, is_visible_to_patient=False
    )
    with pytest.raises(Http404):
        permissions.get_plan_for_patient(request_as(patient_user), hidden.pk)


def test_doctor_login_cannot_use_patient_helpers(doctor_user, patient):
    plan = published(patient=patient)
    with pytest.raises(Http404):
        permissions.get_plan_for_patient(request_as(doctor_user), plan.pk)


# --- Roles -------------------------------------------------------------------------------------
@permissions.require_role(Role.DOCTOR)
def doctors_only(request):
    return HttpResponse("ok")


def test_role_decorator_sends_anonymous_to_login():
    response = doctors_only(request_as(AnonymousUser()))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
    assert "somewhere" in response.url


def test_role_decorator_lets_the_role_in(doctor_user):
    assert doctors_only(request_as(doctor_user)).content == b"ok"


def test_role_decorator_refuses_wrong_role(patient_user):
    with pytest.raises(PermissionDenied):
        doctors_only(request_as(patient_user))


def test_role_decorator_refuses_user_without_profile():
    with pytest.raises(PermissionDenied):
        doctors_only(request_as(UserFactory()))


def test_doctor_role_without_provider_record_refused(doctor_user):
    provider = doctor_user.provider
    provider.user = None
    provider.save()
    fresh = type(doctor_user).objects.get(pk=doctor_user.pk)
    with pytest.raises(PermissionDenied):
        doctors_only(request_as(fresh))


def test_user_role():
    assert permissions.user_role(AnonymousUser()) is None
    assert permissions.user_role(UserFactory()) is None
    assert permissions.user_role(UserFactory(is_superuser=True)) == Role.ADMIN


def test_user_role_reads_the_profile(doctor_user, patient_user, admin_profile):
    assert permissions.user_role(doctor_user) == Role.DOCTOR
    assert permissions.user_role(patient_user) == Role.PATIENT
    assert permissions.user_role(admin_profile.user) == Role.ADMIN


def test_doctor_pages_answer_403_for_wrong_role_and_login_for_anonymous(client, patient_client):
    assert patient_client.get("/doctor/").status_code == 403
    client.logout()
    response = client.get("/doctor/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
