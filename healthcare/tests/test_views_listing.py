"""views/listing.py: the audit trail helper shared by the plan and proposal pages."""

from __future__ import annotations

import pytest

from healthcare.views.listing import audit_entries

from .workflow_helpers import make_plan

pytestmark = pytest.mark.django_db


def test_audit_entries_needs_exactly_one_object(doctor, patient):
    plan = make_plan(patient, doctor)
    with pytest.raises(TypeError):
        audit_entries()  # would otherwise be every entry without a proposal, any patient's
    with pytest.raises(TypeError):
        audit_entries(plan=plan, proposal=plan.ai_proposal or object())
    assert audit_entries(plan=plan) == []
