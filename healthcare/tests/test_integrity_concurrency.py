"""State changes are safe under concurrent requests (issue 6, item 5). PostgreSQL only.

Two browsers (threads, each with its own client, session and database connection) send the
same request at the same moment through the whole stack: middleware, view, service, row locks.
Whatever the interleaving: no 500, exactly one current version of a plan, exactly one
successor of a version, one audit entry per real change.

To make the race real rather than lucky, the service's row lock is wrapped so the winner holds
it a moment longer: without the lock, both requests would read the old state in that window.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from healthcare.models import AIProposedTreatmentPlan, DoctorTreatmentPlan
from healthcare.models import TreatmentPlanAuditLog as Audit
from healthcare.services import plans as plan_service

from . import factories as f
from .hardening import make_ready_patient
from .pg import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = DoctorTreatmentPlan.Status
HOLD_LOCK_SECONDS = 0.3
ROUNDS = 3


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


@pytest.fixture
def slow_lock(monkeypatch):
    """Hold each plan row lock a little longer, so the second request certainly arrives while
    the first is inside its transaction."""
    original = plan_service._locked

    def held(plan):
        locked = original(plan)
        time.sleep(HOLD_LOCK_SECONDS)
        return locked

    monkeypatch.setattr(plan_service, "_locked", held)


def _race_many(user, calls: list[tuple[str, str, dict]]) -> list[int]:
    """Send each (method, url, data) from its own client, all at once; return the statuses."""
    n = len(calls)
    clients = []
    for _ in range(n):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(n)
    statuses: list[int] = [0] * n
    errors: list[BaseException] = []

    def go(i: int) -> None:
        method, url, data = calls[i]
        try:
            barrier.wait(timeout=10)
            statuses[i] = getattr(clients[i], method)(url, data).status_code
        except BaseException as exc:  # surfaced below: a thread must not swallow it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert errors == [], errors
    return statuses


def _race(user, method: str, url: str, data: dict | None = None, n: int = 2) -> list[int]:
    """The same request from `n` clients at once."""
    return _race_many(user, [(method, url, data or {})] * n)


@pytest.fixture
def care(doctor):
    return doctor, f.PatientFactory(primary_doctor=doctor)


def _active_plan(doctor, patient) -> DoctorTreatmentPlan:
    plan = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
    plan.publish_to_patient(by=doctor.user)
    return plan


def _chain_of(plan: DoctorTreatmentPlan) -> list[DoctorTreatmentPlan]:
    return DoctorTreatmentPlan.objects.get(pk=plan.pk).version_history()


# --- Publish ------------------------------------------------------------------------------
def test_two_simultaneous_publishes_of_a_revision_leave_one_current_version(
    care, doctor_user, slow_lock
):
    doctor, patient = care
    for _ in range(ROUNDS):
        v1 = _active_plan(doctor, patient)
        v2 = plan_service.revise_plan(v1, by=doctor_user)
        url = reverse("doctor_publish_treatment_plan", args=[v2.pk])

        statuses = _race(doctor_user, "post", url)

        assert sorted(statuses) == [302, 302], statuses  # one published, one told why not
        chain = _chain_of(v1)
        assert [p.pk for p in chain] == [v1.pk, v2.pk]
        assert [p.status for p in chain] == [Status.SUPERSEDED, Status.ACTIVE]
        assert sum(p.is_current() for p in chain) == 1
        assert Audit.objects.filter(plan=v2, action=Audit.Action.PLAN_PUBLISHED).count() == 1
        assert Audit.objects.filter(plan=v1, action=Audit.Action.PLAN_SUPERSEDED).count() == 1


def test_two_simultaneous_publishes_of_a_new_plan_publish_it_once(care, doctor_user, slow_lock):
    doctor, patient = care
    for _ in range(ROUNDS):
        draft = f.DoctorTreatmentPlanFactory(patient=patient, provider=doctor)
        url = reverse("doctor_publish_treatment_plan", args=[draft.pk])
        assert sorted(_race(doctor_user, "post", url)) == [302, 302]
        draft.refresh_from_db()
        assert draft.status == Status.ACTIVE
        assert Audit.objects.filter(plan=draft, action=Audit.Action.PLAN_PUBLISHED).count() == 1


# --- Revise -------------------------------------------------------------------------------
def test_two_simultaneous_revisions_make_one_successor(care, doctor_user, slow_lock):
    doctor, patient = care
    for _ in range(ROUNDS):
        v1 = _active_plan(doctor, patient)
        url = reverse("doctor_revise_treatment_plan", args=[v1.pk])

        statuses = _race(doctor_user, "post", url)

        assert all(s == 302 for s in statuses), statuses
        successors = DoctorTreatmentPlan.objects.filter(previous_version=v1)
        assert successors.count() == 1
        assert successors.get().status == Status.DRAFT
        assert successors.get().version == v1.version + 1
        v1.refresh_from_db()
        assert v1.status == Status.ACTIVE  # stays current until the revision is published
        assert Audit.objects.filter(action=Audit.Action.PLAN_REVISED, plan__in=successors).count()


def test_revise_and_publish_racing_keep_one_current_version(care, doctor_user, slow_lock):
    """One tab publishes v2 while another tab asks to revise v1 again."""
    doctor, patient = care
    for _ in range(ROUNDS):
        v1 = _active_plan(doctor, patient)
        v2 = plan_service.revise_plan(v1, by=doctor_user)
        publish = reverse("doctor_publish_treatment_plan", args=[v2.pk])
        revise = reverse("doctor_revise_treatment_plan", args=[v1.pk])
        statuses = _race_many(doctor_user, [("post", publish, {}), ("post", revise, {})])
        assert statuses == [302, 302]
        chain = _chain_of(v1)
        assert sum(p.is_current() for p in chain) == 1
        assert DoctorTreatmentPlan.objects.filter(previous_version=v1).count() == 1


# --- Review, acknowledge, generate ----------------------------------------------------------
def test_two_simultaneous_reviews_leave_a_consistent_proposal(care, doctor_user):
    doctor, patient = care
    proposal = f.AIProposedTreatmentPlanFactory(patient=patient, provider=doctor)
    url = reverse("doctor_review_ai_proposal", args=[proposal.pk])
    statuses = _race(doctor_user, "post", url, {"decision": "accepted", "doctor_notes": "ok"})
    assert all(s == 302 for s in statuses), statuses
    proposal.refresh_from_db()
    assert proposal.status == AIProposedTreatmentPlan.Status.ACCEPTED
    reviews = Audit.objects.filter(proposal=proposal, action=Audit.Action.PROPOSAL_REVIEWED)
    assert 1 <= reviews.count() <= 2  # each review is recorded; none is lost or half-written


def test_two_simultaneous_acknowledgements_count_once(doctor):
    profile = f.PatientProfileFactory(patient__primary_doctor=doctor)
    patient = profile.user.patient
    plan = _active_plan(doctor, patient)
    url = reverse("patient_acknowledge_treatment_plan", args=[plan.pk])
    for _ in range(ROUNDS):
        statuses = _race(profile.user, "post", url, {"confirm": "True"}, n=3)
        assert all(s == 302 for s in statuses), statuses
    plan.refresh_from_db()
    assert plan.patient_acknowledged_at is not None
    acks = Audit.objects.filter(plan=plan, action=Audit.Action.PATIENT_ACKNOWLEDGED)
    assert acks.count() == 1


def test_two_simultaneous_generate_clicks_queue_one_job(doctor, doctor_user, settings):
    patient = make_ready_patient(doctor)
    url = reverse("doctor_generate_ai_proposal", args=[patient.pk])
    statuses = _race(doctor_user, "post", url, n=3)
    assert all(s == 302 for s in statuses), statuses
    in_progress = AIProposedTreatmentPlan.objects.filter(
        patient=patient, generation_status__in=AIProposedTreatmentPlan.IN_PROGRESS_GENERATION
    )
    assert in_progress.count() == 1
