"""The 405 page and the footer that depends on who is reading."""

import pytest
from django.test import Client
from django.urls import reverse

from .workflow_helpers import make_plan

pytestmark = pytest.mark.django_db


def test_get_on_a_post_only_action_shows_a_readable_405_page(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    response = doctor_client.get(reverse("doctor_publish_treatment_plan", args=[plan.pk]))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert b"only works from its button" in response.content
    assert plan.__class__.objects.get(pk=plan.pk).status == "draft"


def test_a_405_for_a_json_or_post_request_is_left_alone(doctor_client, doctor, patient):
    plan = make_plan(patient, doctor)
    response = doctor_client.put(reverse("doctor_publish_treatment_plan", args=[plan.pk]))
    assert response.status_code == 405
    assert response.content == b""


def test_patients_never_read_about_ai_proposals_in_the_footer(patient_user, doctor_user):
    patient_client, doctor_client = Client(), Client()
    patient_client.force_login(patient_user)
    doctor_client.force_login(doctor_user)
    patient_page = patient_client.get(reverse("patient_dashboard")).content.decode()
    doctor_page = doctor_client.get(reverse("doctor_dashboard")).content.decode()
    assert "AI proposals" not in patient_page
    assert "call your doctor" in patient_page
    assert "AI proposals never replace" in doctor_page
