"""Query counts of the generation pages do not grow with the record or the number of proposals
(the real generator's gather_patient_data, not a stand-in)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from healthcare import models as m

from .factories import AIProposedTreatmentPlanFactory, PatientFactory

GS = m.AIProposedTreatmentPlan.GenerationStatus


def grow_record(patient, doctor, rows: int) -> None:
    encounters = m.Encounter.objects.bulk_create(
        m.Encounter(patient=patient, provider=doctor) for _ in range(max(1, rows // 10))
    )
    now = timezone.now()
    m.VitalSign.objects.bulk_create(
        m.VitalSign(
            encounter=encounters[i % len(encounters)],
            recorded_at=now - timedelta(hours=i),
            blood_pressure_systolic=140,
            blood_pressure_diastolic=90,
        )
        for i in range(max(3, rows // 2))
    )
    m.Diagnosis.objects.bulk_create(
        m.Diagnosis(encounter=encounters[0], description=f"Dx {i}", icd10_code="I10")
        for i in range(max(1, rows // 4))
    )
    m.LabTest.objects.bulk_create(
        m.LabTest(patient=patient, test_name=f"Lab {i}", result_value="1")
        for i in range(max(1, rows // 4))
    )
    m.MedicalHistory.objects.create(patient=patient, condition="Hypertension")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_generate_page_queries_do_not_grow_with_the_record(doctor_client, doctor):
    small, large = PatientFactory(primary_doctor=doctor), PatientFactory(primary_doctor=doctor)
    grow_record(small, doctor, 10)
    grow_record(large, doctor, 2000)
    url = "doctor_generate_ai_proposal"
    few = count_queries(doctor_client, reverse(url, args=[small.pk]))
    many = count_queries(doctor_client, reverse(url, args=[large.pk]))
    assert few == many
    assert many <= 30


@pytest.mark.parametrize("view", ["doctor_ai_proposal_status", "doctor_view_ai_proposal"])
def test_proposal_page_and_status_queries_do_not_grow_with_proposals(
    doctor_client, doctor, patient, view
):
    proposal = AIProposedTreatmentPlanFactory(
        patient=patient, provider=doctor, generation_status=GS.QUEUED, heartbeat_at=None
    )
    url = reverse(view, args=[proposal.pk])
    before = count_queries(doctor_client, url)
    AIProposedTreatmentPlanFactory.create_batch(
        60, patient=patient, provider=doctor, generation_status=GS.QUEUED
    )
    AIProposedTreatmentPlanFactory.create_batch(40, patient=patient, provider=doctor)
    assert count_queries(doctor_client, url) == before


def test_dashboard_queries_do_not_grow_with_generations(doctor_client, doctor):
    url = reverse("doctor_dashboard")
    before = count_queries(doctor_client, url)
    for _ in range(30):
        patient = PatientFactory(primary_doctor=doctor)
        AIProposedTreatmentPlanFactory(
            patient=patient, provider=doctor, generation_status=GS.RUNNING
        )
        AIProposedTreatmentPlanFactory(
            patient=patient, provider=doctor, completed_at=timezone.now()
        )
    assert count_queries(doctor_client, url) == before
