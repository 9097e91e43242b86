"""Template context shared by every page."""

from django.http import HttpRequest

from . import permissions


def user_role(request: HttpRequest) -> dict:
    return {"user_role": permissions.user_role(request.user)}
