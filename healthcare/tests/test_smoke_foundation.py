import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_sends_doctor_to_doctor_dashboard(doctor_client):
    response = doctor_client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("doctor_dashboard")


def test_home_sends_patient_to_patient_dashboard(patient_client):
    response = patient_client.get(reverse("home"))
    assert response.url == reverse("patient_dashboard")


def test_doctor_dashboard_refuses_patient(patient_client):
    assert patient_client.get(reverse("doctor_dashboard")).status_code == 403
