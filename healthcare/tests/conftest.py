"""Fixtures shared by all tests: one user per role, and a doctor-patient pair in care.

Log in with `client.force_login(user)`: django-axes needs a request for `client.login()`.
"""

from __future__ import annotations

import os

import pytest
import responses

from healthcare.ai.client import SERVER_HEALTH

from .factories import (
    AdminProfileFactory,
    DoctorProfileFactory,
    PatientFactory,
    PatientProfileFactory,
)
from .processes import WorkerDatabase
from .skips import skip_or_fail


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "unused_replies_ok: the `rsps` fixture lets registered replies go unused"
    )


@pytest.fixture(autouse=True)
def _fresh_server_health():
    """Which Ollama servers are down is kept per process; each test starts with none down."""
    SERVER_HEALTH.reset()
    yield
    SERVER_HEALTH.reset()


@pytest.fixture
def rsps(request):
    """`responses` for the HTTP to Ollama. Each registered reply must be requested, unless
    the test or its module is marked `unused_replies_ok`."""
    lenient = request.node.get_closest_marker("unused_replies_ok") is not None
    with responses.RequestsMock(assert_all_requests_are_fired=not lenient) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user; tests of login behaviour don't need its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def doctor_profile(db):
    return DoctorProfileFactory()


@pytest.fixture
def doctor(doctor_profile):
    """The Provider of the logged-in doctor."""
    return doctor_profile.user.provider


@pytest.fixture
def doctor_user(doctor_profile):
    return doctor_profile.user


@pytest.fixture
def doctor_client(client, doctor_user):
    client.force_login(doctor_user)
    return client


@pytest.fixture
def patient_profile(db, doctor):
    return PatientProfileFactory(patient__primary_doctor=doctor)


@pytest.fixture
def patient(patient_profile):
    """A patient in the care of `doctor`, with a login."""
    return patient_profile.user.patient


@pytest.fixture
def patient_user(patient_profile):
    return patient_profile.user


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    return client


@pytest.fixture
def other_doctor(db):
    """A doctor with no care relationship to `patient`."""
    return DoctorProfileFactory().user.provider


@pytest.fixture
def other_patient(db, other_doctor):
    """A patient of `other_doctor`, with a login."""
    return PatientProfileFactory(patient__primary_doctor=other_doctor).user.patient


@pytest.fixture
def unrelated_patient(db, other_doctor):
    """A patient without a login who is not in the care of `doctor`."""
    return PatientFactory(primary_doctor=other_doctor)


@pytest.fixture
def admin_profile(db):
    return AdminProfileFactory()


@pytest.fixture
def staff_client(client, admin_profile):
    client.force_login(admin_profile.user)
    return client


@pytest.fixture
def ollama_url():
    """The real Ollama server for `@pytest.mark.ollama` tests (env OLLAMA_TEST_URL).

    Skips when unset, except in CI (CI=true), where a missing server is a failure.
    Start one with: URL=$(../shared/ollama-cpu/start 11435 llama3.2); export OLLAMA_TEST_URL=$URL
    """
    url = os.environ.get("OLLAMA_TEST_URL", "").strip()
    if not url:
        skip_or_fail("OLLAMA_TEST_URL is not set: no real Ollama server for this test.")
    return url


@pytest.fixture
def worker_db(tmp_path):
    """A database that `manage.py` subprocesses can open (healthcare/tests/processes.py)."""
    database = WorkerDatabase(tmp_path)
    yield database
    database.drop()
