"""Accounts and sessions (issue 6, item 4): throttling, passwords, expiry, logout, CSRF.

Every test goes through the real views with the test client, so the middleware (django-axes,
sessions, CSRF) is the one that runs in production.
"""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from .factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

# The site's own pages and the admin's both end the session with a POST form and a token.
LOGOUT_FORM = re.compile(
    r'<form[^>]*method="post"[^>]*action="/(?:accounts|admin)/logout/"[^>]*>\s*'
    r'<input type="hidden" name="csrfmiddlewaretoken"',
    re.S,
)


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


# --- Login throttling (django-axes) -------------------------------------------------------
def test_login_with_the_right_password_works(client, doctor_user):
    response = _login(client, doctor_user.username, TEST_PASSWORD)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_login_is_locked_after_the_failure_limit(client, doctor_user):
    limit = settings.AXES_FAILURE_LIMIT
    assert 3 <= limit <= 10, "a clinic's login should lock after a handful of failures"
    for _ in range(limit - 1):
        response = _login(client, doctor_user.username, "wrong-password-guess")
        assert response.status_code == 200  # the form again, with an error
        assert "didn&#x27;t match" in response.content.decode() or "match" in response.text
    response = _login(client, doctor_user.username, "wrong-password-guess")
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.text

    # Locked: even the right password is refused now, and no session is opened.
    response = _login(client, doctor_user.username, TEST_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_of_one_user_does_not_lock_another(client, doctor_user, patient_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, doctor_user.username, "wrong-password-guess")
    response = _login(Client(), patient_user.username, TEST_PASSWORD)
    assert response.status_code == 302


def test_failures_below_the_limit_are_forgotten_after_a_success(client, doctor_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, doctor_user.username, "wrong-password-guess")
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, doctor_user.username, "wrong-password-guess")
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 302


def test_lockout_expires_after_the_cool_off(client, doctor_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, doctor_user.username, "wrong-password-guess")
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 429
    # Time passes: the failures recorded by axes move back beyond the cool-off.
    cool_off = timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - cool_off
        )
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 302


# --- Passwords ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "password",
    [
        "short1!",  # too short
        "password1234",  # common
        "123456789012345",  # all digits
        "qwertyuiop12",  # common
        "drhouse2024!!",  # too close to the username
        "aaaaaaaaaaaaaaaa",  # one character repeated
        "passwordpassword",  # a word repeated
        "abcdefghijklmnop",  # a sequence
    ],
)
def test_weak_passwords_are_refused(password):
    user = UserFactory.build(username="drhouse", email="drhouse@example.org")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_long_uncommon_password_is_accepted():
    user = UserFactory.build(username="drhouse", email="drhouse@example.org")
    validate_password("violet-harbour-tram-1987", user)


def test_minimum_length_is_at_least_twelve():
    for validator in settings.AUTH_PASSWORD_VALIDATORS:
        if validator["NAME"].endswith("MinimumLengthValidator"):
            assert validator["OPTIONS"]["min_length"] >= 12
            return
    pytest.fail("no MinimumLengthValidator configured")


def test_password_change_view_refuses_a_weak_password(doctor_client, doctor_user):
    response = doctor_client.post(
        reverse("password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": "abc123", "new_password2": "abc123"},
    )
    assert response.status_code == 200
    assert "too short" in response.text
    doctor_user.refresh_from_db()
    assert doctor_user.check_password(TEST_PASSWORD)


# --- Sessions -----------------------------------------------------------------------------
def test_idle_timeout_defaults_to_fifteen_minutes():
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_session_cookie_ends_with_the_browser(client, doctor_user):
    """No Max-Age/Expires on the cookie: the browser drops it when it closes."""
    response = _login(client, doctor_user.username, TEST_PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert client.session.get_expire_at_browser_close() is True


def _dashboard_status(client: Client, at) -> int:
    with mock.patch("django.utils.timezone.now", return_value=at):
        return client.get(reverse("doctor_dashboard")).status_code


def test_session_expires_after_inactivity(client, doctor_user):
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 302
    start = timezone.now()
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert _dashboard_status(client, start + idle - timedelta(seconds=30)) == 200
    # Each request renews the session, so activity keeps it alive past the first window...
    second = start + idle - timedelta(seconds=30)
    assert _dashboard_status(client, second + idle - timedelta(seconds=30)) == 200
    # ...but a pause longer than the idle timeout ends it.
    third = second + idle - timedelta(seconds=30)
    with mock.patch("django.utils.timezone.now", return_value=third + idle + timedelta(seconds=5)):
        response = client.get(reverse("doctor_dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_logout_ends_the_session_and_needs_post(doctor_client):
    assert doctor_client.get(reverse("logout")).status_code == 405
    response = doctor_client.post(reverse("logout"))
    assert response.status_code == 302
    assert doctor_client.get(reverse("doctor_dashboard")).status_code == 302


@pytest.mark.parametrize(
    ("client_fixture", "url_name"),
    [
        ("doctor_client", "doctor_dashboard"),
        ("patient_client", "patient_dashboard"),
        ("doctor_client", "password_change"),
        ("staff_client", "password_change"),
        ("patient_client", "password_change_done"),
        ("staff_client", "admin:index"),
    ],
)
def test_logout_form_on_pages(request, client_fixture, url_name):
    """Every page of a logged-in user carries a POST logout form (the access matrix checks
    the same on every page it renders)."""
    client = request.getfixturevalue(client_fixture)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert LOGOUT_FORM.search(response.text), "no POST logout form with a CSRF token"


# --- CSRF ---------------------------------------------------------------------------------
def test_login_post_without_csrf_token_is_refused(doctor_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"), {"username": doctor_user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_logout_post_without_csrf_token_is_refused(doctor_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor_user)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get(reverse("doctor_dashboard")).status_code == 200


def test_login_with_csrf_token_works(doctor_user):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        reverse("login"),
        {"username": doctor_user.username, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_no_view_is_csrf_exempt():
    """A csrf_exempt view anywhere would be a hole in "CSRF everywhere"."""
    from django.urls import get_resolver

    def walk(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns)
            else:
                yield p

    exempt = [
        str(p.pattern)
        for p in walk(get_resolver().url_patterns)
        if getattr(p.callback, "csrf_exempt", False)
    ]
    assert exempt == []


# --- Hostile login input ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("x" * 300, "whatever-password"),  # longer than axes' 255-character column
        ("a\x00b", "whatever-password"),
        ("someone", "p\x00w"),
        ("", ""),
        ('<script>alert("x")</script>', "whatever-password"),
    ],
)
def test_hostile_login_input_is_refused_without_an_error_page(client, username, password):
    response = client.post(
        reverse("login"),
        {"username": username, "password": password},
        HTTP_USER_AGENT="u" * 1000,
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_overlong_usernames_are_still_throttled(client):
    username = "y" * 400
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, "wrong-password-guess")
    assert _login(client, username, "wrong-password-guess").status_code == 429
    assert AccessAttempt.objects.get().username == "y" * 150


def test_login_rotates_the_session_key(client, doctor_user):
    """No session fixation: a key known before login is useless after it."""
    planted = client.session  # a session the attacker knows, planted in the victim's cookie
    planted["marker"] = "planted"
    planted.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    assert _login(client, doctor_user.username, TEST_PASSWORD).status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert client.session.session_key != planted.session_key
    assert client.session["marker"] == "planted"  # the data moves along, the key does not
