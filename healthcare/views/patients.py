"""A doctor's patients: the list of patients in their care and the read-only chart.

Both pages run a fixed number of queries however long the record is: the list is one page
query (plus the count), the chart one query per section, each section capped.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..forms import PatientSearchForm
from ..models import (
    Diagnosis,
    Encounter,
    LabTest,
    Patient,
    Prescription,
    SocialHistory,
    VitalSign,
)
from ..permissions import (
    Role,
    current_provider,
    get_patient_for_doctor,
    patients_in_care_of,
    plans_for_doctor,
    proposals_for_doctor,
    require_role,
)

PAGE_SIZE = 25
MAX_SEARCH_TERMS = 5
CHART_VITALS = 5
CHART_ENCOUNTERS = 5
CHART_ABNORMAL_LABS = 15
CHART_RECENT_LABS = 10
CHART_WORK_ITEMS = 5  # the doctor's latest plans and AI proposals for this patient
CRITICAL_WINDOW = timedelta(hours=24)


def search_patients(patients: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    """Every word must match a first name, last name or MRN (case-insensitive)."""
    for term in query.split()[:MAX_SEARCH_TERMS]:
        patients = patients.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(mrn__icontains=term)
        )
    return patients


def chart_sections(patient: Patient) -> dict:
    """The record summary the chart shows: one query per section, each capped."""
    vitals = list(
        VitalSign.objects.filter(encounter__patient=patient).order_by("-recorded_at")[:CHART_VITALS]
    )
    recent_since = timezone.now() - CRITICAL_WINDOW
    for vital in vitals:
        vital.critical = vital.critical_findings()
    labs = LabTest.objects.filter(patient=patient).order_by("-ordered_date", "-lab_id")
    return {
        "vitals": vitals,
        "recent_critical": [v for v in vitals if v.critical and v.recorded_at >= recent_since],
        "diagnoses": Diagnosis.objects.filter(
            encounter__patient=patient, status__in=Diagnosis.ACTIVE_STATUSES
        ).order_by("-diagnosed_date", "icd10_code"),
        "abnormal_labs": labs.exclude(abnormal_flag="")[:CHART_ABNORMAL_LABS],
        "recent_labs": labs[:CHART_RECENT_LABS],
        "allergies": patient.allergies.filter(is_active=True).order_by("allergen"),
        "medications": patient.prescriptions.filter(status=Prescription.Status.ACTIVE)
        .select_related("provider")
        .order_by("medication_name"),
        "encounters": Encounter.objects.filter(patient=patient)
        .select_related("provider")
        .order_by("-encounter_date")[:CHART_ENCOUNTERS],
        "medical_history": patient.medical_history.order_by("-diagnosed_date", "condition"),
        "family_history": patient.family_history.all(),
        "social_history": SocialHistory.objects.filter(patient=patient).first(),
    }


@login_required
@require_role(Role.DOCTOR)
@require_GET
def doctor_patients_list(request: HttpRequest) -> HttpResponse:
    provider = current_provider(request)
    form = PatientSearchForm(request.GET)
    last_visit = Encounter.objects.filter(patient=OuterRef("pk")).order_by("-encounter_date")
    patients = (
        patients_in_care_of(provider)
        .select_related("primary_doctor")
        .annotate(last_visit=Subquery(last_visit.values("encounter_date")[:1]))
        .order_by("last_name", "first_name", "patient_id")
    )
    query, page = "", None
    if form.is_valid():
        query, page = form.cleaned_data["q"].strip(), form.cleaned_data["page"]
        patients = search_patients(patients, query)
    page_obj = Paginator(patients, PAGE_SIZE).get_page(page)
    context = {"form": form, "page_obj": page_obj, "query": query, "doctor": provider}
    return render(request, "healthcare/doctor/patients_list.html", context)


@login_required
@require_role(Role.DOCTOR)
@require_GET
def doctor_patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for_doctor(request, patient_id)
    doctor = current_provider(request)
    context = {
        "patient": patient,
        # Only this doctor's own plans and proposals: the access rule of their detail pages.
        "patient_plans": plans_for_doctor(doctor)
        .filter(patient=patient)
        .order_by("-created_at")[:CHART_WORK_ITEMS],
        "patient_proposals": proposals_for_doctor(doctor)
        .filter(patient=patient)
        .order_by("-created_at")[:CHART_WORK_ITEMS],
        **chart_sections(patient),
    }
    return render(request, "healthcare/doctor/patient_chart.html", context)
