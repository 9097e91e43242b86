"""URLs of the healthcare app. Names follow the specification (Views and URLs)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Dashboards
    path("doctor/", views.doctor_dashboard, name="doctor_dashboard"),
    path("patient/", views.patient_dashboard, name="patient_dashboard"),
]
