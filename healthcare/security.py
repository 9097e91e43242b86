"""Small security hooks referenced from settings.

`axes_username`: django-axes records every failed login in a table whose username column is
255 characters. Django's login form lets a longer username through to authenticate() (its
max_length check is set after the validators are built), so on PostgreSQL a 300-character
username made the login page answer 500. Axes now gets the username cut to what a real one can
be, without NUL (which PostgreSQL text cannot hold).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest

AXES_USERNAME_COLUMN = 255


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    field = get_user_model().USERNAME_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        username = data.get(field)
    if username is None:
        return None
    limit = min(get_user_model()._meta.get_field(field).max_length or 150, AXES_USERNAME_COLUMN)
    return str(username).replace("\x00", "")[:limit]
