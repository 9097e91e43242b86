"""Audit rows cannot be changed or deleted: not by the model, the queryset, the admin, nor
(on PostgreSQL) by raw SQL (issue 6, item 5)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from healthcare.models import TreatmentPlanAuditLog
from healthcare.models.audit import AuditLogAppendOnlyError

from .factories import DoctorProfileFactory, TreatmentPlanAuditLogFactory
from .pg import require_postgres

pytestmark = pytest.mark.django_db

TABLE = "treatment_plan_audit_log"
assert TreatmentPlanAuditLog._meta.db_table == TABLE


@pytest.fixture
def entry(doctor_user):
    return TreatmentPlanAuditLogFactory(actor=doctor_user, changes={"status": ["draft", "active"]})


def _raw_sql(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _unchanged(entry) -> None:
    fresh = TreatmentPlanAuditLog.objects.get(pk=entry.pk)
    assert fresh.action == entry.action
    assert fresh.changes == entry.changes
    assert fresh.actor_id == entry.actor_id


# --- Through the ORM (every database) ---------------------------------------------------------
def test_model_refuses_save_of_an_existing_row(entry):
    entry.action = TreatmentPlanAuditLog.Action.PLAN_CANCELLED
    with pytest.raises(AuditLogAppendOnlyError):
        entry.save()
    entry.refresh_from_db()
    assert entry.action == TreatmentPlanAuditLog.Action.PLAN_CREATED


def test_model_refuses_delete(entry):
    with pytest.raises(AuditLogAppendOnlyError):
        entry.delete()
    assert TreatmentPlanAuditLog.objects.filter(pk=entry.pk).exists()


def test_queryset_refuses_update_and_delete(entry):
    with pytest.raises(AuditLogAppendOnlyError):
        TreatmentPlanAuditLog.objects.filter(pk=entry.pk).update(changes={})
    with pytest.raises(AuditLogAppendOnlyError):
        TreatmentPlanAuditLog.objects.all().delete()
    _unchanged(entry)


def test_bulk_update_is_refused(entry):
    entry.changes = {"forged": True}
    with pytest.raises(AuditLogAppendOnlyError):
        TreatmentPlanAuditLog.objects.bulk_update([entry], ["changes"])


# --- Through the admin ------------------------------------------------------------------------
def test_admin_shows_audit_rows_read_only(staff_client, entry):
    url = reverse("admin:healthcare_treatmentplanauditlog_change", args=[entry.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'name="action"' not in page.text  # no editable field
    assert "Delete" not in page.text or "deletelink" not in page.text
    response = staff_client.post(url, {"action": "plan_cancelled", "changes": "{}"})
    assert response.status_code == 403
    _unchanged(entry)


def test_admin_cannot_delete_or_add_audit_rows(staff_client, entry):
    delete = reverse("admin:healthcare_treatmentplanauditlog_delete", args=[entry.pk])
    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    add = reverse("admin:healthcare_treatmentplanauditlog_add")
    assert staff_client.post(add, {"action": "plan_created"}).status_code == 403
    _unchanged(entry)


def test_admin_changelist_offers_no_bulk_delete(staff_client, entry):
    url = reverse("admin:healthcare_treatmentplanauditlog_changelist")
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "delete_selected" not in page.text
    response = staff_client.post(
        url, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302, 403)
    _unchanged(entry)


def test_deleting_a_patient_with_history_is_refused(staff_client, entry):
    """PROTECT: an object with an audit history cannot vanish, even for an admin."""
    patient = entry.patient
    url = reverse("admin:healthcare_patient_delete", args=[patient.pk])
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code in (200, 403)  # "cannot delete" page, or no permission
    assert type(patient).objects.filter(pk=patient.pk).exists()
    _unchanged(entry)


# --- In the database itself (PostgreSQL trigger, migration 0002) ------------------------------
@pytest.mark.postgres
def test_raw_sql_update_is_refused_by_the_database(entry):
    require_postgres()
    with pytest.raises(IntegrityError, match="append-only"):
        _raw_sql(
            "UPDATE treatment_plan_audit_log SET changes = '{}'::jsonb WHERE audit_id = %s",
            [entry.pk],
        )
    _unchanged(entry)


@pytest.mark.postgres
def test_raw_sql_delete_is_refused_by_the_database(entry):
    require_postgres()
    with pytest.raises(IntegrityError, match="append-only"):
        _raw_sql("DELETE FROM treatment_plan_audit_log WHERE audit_id = %s", [entry.pk])
    assert TreatmentPlanAuditLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres
def test_a_forged_update_hiding_behind_an_actor_change_is_refused(entry):
    require_postgres()
    with pytest.raises(IntegrityError):
        _raw_sql(
            "UPDATE treatment_plan_audit_log SET actor_id = NULL, action = 'plan_cancelled' "
            "WHERE audit_id = %s",
            [entry.pk],
        )
    _unchanged(entry)


@pytest.mark.postgres
def test_deleting_the_actor_account_keeps_the_entry(entry):
    """ON DELETE SET NULL is the one change let through: the entry itself stays as it was."""
    require_postgres()
    other = DoctorProfileFactory().user
    kept = TreatmentPlanAuditLogFactory(actor=other)
    get_user_model().objects.filter(pk=other.pk).delete()
    kept_fresh = TreatmentPlanAuditLog.objects.get(pk=kept.pk)
    assert kept_fresh.actor_id is None
    assert kept_fresh.action == kept.action
    assert kept_fresh.changes == kept.changes
    _unchanged(entry)


def test_the_trigger_migration_is_a_no_op_elsewhere():
    """On SQLite the migration does nothing (flush must still work); on PostgreSQL it installs
    the trigger."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [TABLE],
        )
        assert ("treatment_plan_audit_log_append_only",) in cursor.fetchall()
