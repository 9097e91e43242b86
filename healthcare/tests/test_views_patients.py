"""The doctor's patient list and the read-only patient chart."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from healthcare.models import VitalSign
from healthcare.views.patients import PAGE_SIZE

from .factories import (
    AllergyFactory,
    DiagnosisFactory,
    EncounterFactory,
    FamilyHistoryFactory,
    LabTestFactory,
    MedicalHistoryFactory,
    PatientFactory,
    PrescriptionFactory,
    SocialHistoryFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db
LIST_URL = reverse("doctor_patients_list")


def chart_url(patient) -> str:
    return reverse("doctor_patient_chart", args=[patient.patient_id])


def count_queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


# --- Patient list -------------------------------------------------------------------------------
def test_list_shows_patients_in_care_with_links(doctor_client, doctor, patient, unrelated_patient):
    seen = PatientFactory(primary_doctor=unrelated_patient.primary_doctor, last_name="Seenby")
    EncounterFactory(patient=seen, provider=doctor)
    response = doctor_client.get(LIST_URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert f'data-testid="patient-link-{patient.pk}"' in content
    assert f'href="{chart_url(patient)}"' in content
    assert f'data-testid="patient-link-{seen.pk}"' in content
    assert "Seen by you" in content
    assert f'data-testid="patient-link-{unrelated_patient.pk}"' not in content
    assert unrelated_patient.mrn not in content


def test_list_anonymous_goes_to_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_list_refuses_patient_role(patient_client):
    assert patient_client.get(LIST_URL).status_code == 403


def test_list_refuses_admin_role(staff_client):
    assert staff_client.get(LIST_URL).status_code == 403


def test_list_is_get_only(doctor_client):
    assert doctor_client.post(LIST_URL, {"q": "x"}).status_code == 405


def test_search_by_name_and_mrn(doctor_client, doctor):
    ana = PatientFactory(primary_doctor=doctor, first_name="Ana", last_name="Lopez", mrn="IH-9001")
    bob = PatientFactory(primary_doctor=doctor, first_name="Bob", last_name="Stone", mrn="IH-9002")

    def found(q):
        page = doctor_client.get(LIST_URL, {"q": q}).context["page_obj"]
        return {p.pk for p in page}

    assert found("lopez") == {ana.pk}
    assert found("ANA LOP") == {ana.pk}
    assert found("IH-9002") == {bob.pk}
    assert found("ih-900") == {ana.pk, bob.pk}
    assert found("Ana Stone") == set()
    response = doctor_client.get(LIST_URL, {"q": "nobody-like-this"})
    assert b'data-testid="no-patients"' in response.content


def test_search_does_not_reach_outside_care(doctor_client, unrelated_patient):
    page = doctor_client.get(LIST_URL, {"q": unrelated_patient.mrn}).context["page_obj"]
    assert list(page) == []


def test_invalid_search_rerendered_with_error(doctor_client, patient):
    response = doctor_client.get(LIST_URL, {"q": "x" * 101})
    assert response.status_code == 200
    assert response.context["form"].errors["q"]
    assert b'data-testid="search-error"' in response.content
    # The list is still there, unfiltered.
    assert patient in list(response.context["page_obj"])


def test_paginated_25_a_page(doctor_client, doctor):
    PatientFactory.create_batch(PAGE_SIZE + 5, primary_doctor=doctor)
    first = doctor_client.get(LIST_URL)
    assert len(first.context["page_obj"]) == 25
    assert b'data-testid="next-page"' in first.content
    second = doctor_client.get(LIST_URL, {"page": 2})
    assert len(second.context["page_obj"]) == 5
    # Junk or out-of-range pages give a page, not an error.
    assert doctor_client.get(LIST_URL, {"page": 99}).status_code == 200
    assert doctor_client.get(LIST_URL, {"page": "abc"}).status_code == 200


def test_search_kept_across_pages(doctor_client, doctor):
    PatientFactory.create_batch(PAGE_SIZE + 1, primary_doctor=doctor, last_name="Samename")
    response = doctor_client.get(LIST_URL, {"q": "Samename"})
    assert b"q=Samename" in response.content


def test_list_queries_do_not_grow_with_patients(doctor_client, doctor, django_assert_num_queries):
    PatientFactory(primary_doctor=doctor)
    baseline = count_queries(doctor_client, LIST_URL)
    for patient in PatientFactory.create_batch(30, primary_doctor=doctor):
        EncounterFactory.create_batch(2, patient=patient, provider=doctor)
    with django_assert_num_queries(baseline):
        doctor_client.get(LIST_URL)
    with django_assert_num_queries(baseline):
        doctor_client.get(LIST_URL, {"q": "a", "page": 1})


# --- Patient chart ------------------------------------------------------------------------------
@pytest.fixture
def record(patient, doctor):
    """A varied record for `patient`: what the chart shows and what it leaves out."""
    old = EncounterFactory(
        patient=patient, provider=doctor, encounter_date=timezone.now() - timedelta(days=400)
    )
    recent = EncounterFactory(
        patient=patient, provider=doctor, encounter_date=timezone.now() - timedelta(hours=2)
    )
    for days in range(1, 8):  # seven older sets of vitals; the chart shows five in all
        VitalSignFactory(
            encounter=old, recorded_at=timezone.now() - timedelta(days=days), heart_rate=60 + days
        )
    VitalSignFactory(
        encounter=recent,
        recorded_at=timezone.now() - timedelta(hours=1),
        blood_pressure_systolic=186,
        blood_pressure_diastolic=112,
        heart_rate=104,
    )
    DiagnosisFactory(encounter=old, icd10_code="E11.9", description="Type 2 diabetes")
    DiagnosisFactory(encounter=old, icd10_code="J20.9", description="Bronchitis", status="resolved")
    LabTestFactory(patient=patient, test_name="Hemoglobin A1c", result_value="9.1")
    LabTestFactory(patient=patient, test_name="Sodium", result_value="140", abnormal_flag="")
    AllergyFactory(patient=patient, allergen="Penicillin", severity="severe")
    AllergyFactory(patient=patient, allergen="Latex", severity="mild", is_active=False)
    PrescriptionFactory(patient=patient, medication_name="Metformin")
    PrescriptionFactory(patient=patient, medication_name="Glipizide", status="discontinued")
    MedicalHistoryFactory(patient=patient, condition="Appendectomy")
    FamilyHistoryFactory(patient=patient, condition="Myocardial infarction")
    SocialHistoryFactory(patient=patient, occupation="Accountant", notes="<b>Night shifts</b>")
    return patient


def test_chart_shows_the_record(doctor_client, record):
    response = doctor_client.get(chart_url(record))
    assert response.status_code == 200
    content = response.content.decode()
    assert record.full_name in content
    assert f"{record.age} years" in content
    assert record.mrn in content
    assert len(response.context["vitals"]) == 5
    assert "186/112" in content
    assert "E11.9" in content and "Type 2 diabetes" in content
    assert "J20.9" not in content  # resolved
    assert [lab.test_name for lab in response.context["abnormal_labs"]] == ["Hemoglobin A1c"]
    assert "Sodium" in content  # recent labs include normal results
    assert "Penicillin" in content and "Severe" in content
    assert "Latex" not in content  # inactive allergy
    assert "Metformin" in content
    assert "Glipizide" not in content  # discontinued
    assert "Appendectomy" in content
    assert "Myocardial infarction" in content
    assert "Accountant" in content


def test_chart_flags_recent_critical_vitals(doctor_client, record):
    response = doctor_client.get(chart_url(record))
    assert b'data-testid="critical-vitals-alert"' in response.content
    assert b"Systolic 186 mmHg" in response.content


def test_old_critical_vitals_do_not_raise_the_alert(doctor_client, patient):
    VitalSignFactory(
        encounter=EncounterFactory(patient=patient),
        recorded_at=timezone.now() - timedelta(days=3),
        oxygen_saturation=85,
    )
    response = doctor_client.get(chart_url(patient))
    assert b'data-testid="critical-vitals-alert"' not in response.content
    assert b'data-testid="critical-vital-row"' in response.content


def test_chart_escapes_free_text(doctor_client, record):
    content = doctor_client.get(chart_url(record)).content
    assert b"<b>Night shifts</b>" not in content
    assert b"&lt;b&gt;Night shifts&lt;/b&gt;" in content


def test_chart_includes_the_actions_partial(doctor_client, patient):
    response = doctor_client.get(chart_url(patient))
    names = [t.name for t in response.templates]
    assert "healthcare/includes/patient_chart_actions.html" in names


def test_chart_of_empty_record(doctor_client, patient):
    response = doctor_client.get(chart_url(patient))
    assert response.status_code == 200
    assert b"No vitals recorded." in response.content
    assert b"No known allergies." in response.content


def test_chart_by_encounter_based_care(doctor_client, doctor, unrelated_patient):
    EncounterFactory(patient=unrelated_patient, provider=doctor)
    assert doctor_client.get(chart_url(unrelated_patient)).status_code == 200


def test_chart_of_patient_outside_care_is_404(doctor_client, unrelated_patient, other_patient):
    assert doctor_client.get(chart_url(unrelated_patient)).status_code == 404
    assert doctor_client.get(chart_url(other_patient)).status_code == 404
    missing = reverse("doctor_patient_chart", args=[999_999])
    assert doctor_client.get(missing).status_code == 404


def test_chart_anonymous_goes_to_login(client, patient):
    response = client.get(chart_url(patient))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_chart_refuses_patient_even_their_own(patient_client, patient):
    assert patient_client.get(chart_url(patient)).status_code == 403


def test_chart_is_get_only(doctor_client, patient):
    assert doctor_client.post(chart_url(patient)).status_code == 405


def test_chart_queries_do_not_grow_with_the_record(
    doctor_client, doctor, patient, django_assert_num_queries
):
    encounter = EncounterFactory(patient=patient, provider=doctor)
    VitalSignFactory(encounter=encounter)
    DiagnosisFactory(encounter=encounter)
    LabTestFactory(patient=patient)
    AllergyFactory(patient=patient)
    PrescriptionFactory(patient=patient)
    MedicalHistoryFactory(patient=patient)
    FamilyHistoryFactory(patient=patient)
    SocialHistoryFactory(patient=patient)
    baseline = count_queries(doctor_client, chart_url(patient))

    for _ in range(6):
        more = EncounterFactory(patient=patient, provider=doctor)
        VitalSignFactory.create_batch(3, encounter=more)
        DiagnosisFactory(encounter=more)
        LabTestFactory.create_batch(4, patient=patient)
        AllergyFactory(patient=patient)
        PrescriptionFactory(patient=patient)
        MedicalHistoryFactory(patient=patient)
        FamilyHistoryFactory(patient=patient)
    with django_assert_num_queries(baseline):
        doctor_client.get(chart_url(patient))


# --- Critical thresholds --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, []),
        ({"blood_pressure_systolic": 180}, ["Systolic 180 mmHg"]),
        ({"blood_pressure_diastolic": 120, "blood_pressure_systolic": 170}, ["Diastolic 120 mmHg"]),
        ({"heart_rate": 120}, ["Heart rate 120/min"]),
        ({"heart_rate": 38}, ["Heart rate 38/min"]),
        ({"oxygen_saturation": 90}, ["SpO₂ 90%"]),
        ({"respiratory_rate": 32}, ["Respiratory rate 32/min"]),
        ({"temperature": Decimal("39.8")}, ["Temperature 39.8 °C"]),
        ({"temperature": Decimal("104.0"), "temperature_unit": "F"}, ["Temperature 104.0 °F"]),
        ({"temperature": Decimal("98.6"), "temperature_unit": "F"}, []),
    ],
)
def test_critical_findings(values, expected):
    normal = {
        "blood_pressure_systolic": 128,
        "blood_pressure_diastolic": 82,
        "heart_rate": 72,
        "respiratory_rate": 14,
        "temperature": Decimal("36.8"),
        "temperature_unit": "C",
        "oxygen_saturation": 98,
    }
    assert VitalSign(**{**normal, **values}).critical_findings() == expected


def test_critical_findings_ignore_missing_values():
    assert VitalSign().critical_findings() == []


def test_chart_lists_this_doctors_plans_and_proposals(doctor_client, doctor, other_doctor, patient):
    from .workflow_helpers import make_plan, make_reviewed_proposal

    plan = make_plan(patient, doctor, plan_title="Blood pressure control")
    proposal = make_reviewed_proposal(patient, doctor)
    make_plan(patient, other_doctor, plan_title="Someone else's plan")
    response = doctor_client.get(chart_url(patient))
    assert list(response.context["patient_plans"]) == [plan]
    assert list(response.context["patient_proposals"]) == [proposal]
    plan_url = reverse("doctor_view_treatment_plan", args=[plan.pk])
    proposal_url = reverse("doctor_view_ai_proposal", args=[proposal.pk])
    assert f'href="{plan_url}"'.encode() in response.content
    assert f'href="{proposal_url}"'.encode() in response.content
    assert b"Someone else" not in response.content


def test_chart_without_plans_or_proposals_says_so(doctor_client, patient):
    response = doctor_client.get(chart_url(patient))
    assert b'data-testid="chart-no-plans"' in response.content
    assert b'data-testid="chart-no-proposals"' in response.content
