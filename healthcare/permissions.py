"""Who may see what. Every view fetches objects through these helpers (DESIGN.md, invariant 2).

- A doctor works on patients in their care: primary doctor, or an encounter with them;
  and on proposals and plans they own.
- A patient sees only themselves and their own published plans.
Outsiders get 404, never data; a wrong role gets 403.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from .models import (
    AIProposedTreatmentPlan,
    DoctorTreatmentPlan,
    Encounter,
    Patient,
    Provider,
    UserProfile,
)

Role = UserProfile.Role


def user_role(user) -> str | None:
    """The role of a user: the profile's, or 'admin' for a superuser without a profile."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.profile.role
    except ObjectDoesNotExist:
        return Role.ADMIN if user.is_superuser else None


def require_role(*roles: str):
    """View decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            role = user_role(request.user)
            if role not in roles:
                raise PermissionDenied("This page is not for your role.")
            if role == Role.DOCTOR and current_provider(request) is None:
                raise PermissionDenied("Your login is not linked to a provider record.")
            if role == Role.PATIENT and current_patient(request) is None:
                raise PermissionDenied("Your login is not linked to a patient record.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def current_provider(request: HttpRequest) -> Provider | None:
    try:
        return request.user.profile.provider
    except (ObjectDoesNotExist, AttributeError):
        return None


def current_patient(request: HttpRequest) -> Patient | None:
    try:
        return request.user.profile.patient
    except (ObjectDoesNotExist, AttributeError):
        return None


# --- Doctors ------------------------------------------------------------------------------
def patients_in_care_of(provider: Provider) -> QuerySet[Patient]:
    """Patients whose primary doctor is `provider` or who had an encounter with them."""
    had_encounter = Encounter.objects.filter(patient=OuterRef("pk"), provider=provider)
    return Patient.objects.filter(Q(primary_doctor=provider) | Exists(had_encounter))


def get_patient_for_doctor(request: HttpRequest, patient_id: int) -> Patient:
    provider = current_provider(request)
    if provider is None:
        raise Http404("No such patient.")
    try:
        return patients_in_care_of(provider).get(pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient.") from None


def proposals_for_doctor(provider: Provider) -> QuerySet[AIProposedTreatmentPlan]:
    return AIProposedTreatmentPlan.objects.filter(provider=provider)


def get_proposal_for_doctor(request: HttpRequest, proposal_id: int) -> AIProposedTreatmentPlan:
    provider = current_provider(request)
    if provider is None:
        raise Http404("No such proposal.")
    try:
        return (
            proposals_for_doctor(provider).select_related("patient", "provider").get(pk=proposal_id)
        )
    except AIProposedTreatmentPlan.DoesNotExist:
        raise Http404("No such proposal.") from None


def plans_for_doctor(provider: Provider) -> QuerySet[DoctorTreatmentPlan]:
    return DoctorTreatmentPlan.objects.filter(provider=provider)


def get_plan_for_doctor(request: HttpRequest, plan_id: int) -> DoctorTreatmentPlan:
    provider = current_provider(request)
    if provider is None:
        raise Http404("No such plan.")
    try:
        return plans_for_doctor(provider).select_related("patient", "provider").get(pk=plan_id)
    except DoctorTreatmentPlan.DoesNotExist:
        raise Http404("No such plan.") from None


# --- Patients -----------------------------------------------------------------------------
def plans_for_patient(patient: Patient) -> QuerySet[DoctorTreatmentPlan]:
    """Only what was published: drafts never reach a patient (invariant 1)."""
    return DoctorTreatmentPlan.objects.filter(patient=patient, is_visible_to_patient=True).exclude(
        status=DoctorTreatmentPlan.Status.DRAFT
    )


def get_plan_for_patient(request: HttpRequest, plan_id: int) -> DoctorTreatmentPlan:
    patient = current_patient(request)
    if patient is None:
        raise Http404("No such plan.")
    try:
        return plans_for_patient(patient).select_related("provider").get(pk=plan_id)
    except DoctorTreatmentPlan.DoesNotExist:
        raise Http404("No such plan.") from None
