from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from ..permissions import Role, user_role

DASHBOARD_OF_ROLE = {
    Role.DOCTOR: "doctor_dashboard",
    Role.PATIENT: "patient_dashboard",
    Role.ADMIN: "admin:index",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own dashboard."""
    target = DASHBOARD_OF_ROLE.get(user_role(request.user))
    if target is None:
        raise PermissionDenied("Your account has no role yet; ask an administrator.")
    return redirect(target)
