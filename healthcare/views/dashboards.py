from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..permissions import Role, current_patient, current_provider, require_role


@login_required
@require_role(Role.DOCTOR)
def doctor_dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request, "healthcare/doctor/dashboard.html", {"doctor": current_provider(request)}
    )


@login_required
@require_role(Role.PATIENT)
def patient_dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request, "healthcare/patient/dashboard.html", {"patient": current_patient(request)}
    )
