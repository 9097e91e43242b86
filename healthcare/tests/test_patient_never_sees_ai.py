"""Invariant 1: no response a patient can request contains AI proposal text or a draft plan.

Walks every URL pattern of healthcare/urls.py (including ones added later by other areas),
fills its arguments with the ids of real objects (the patient's own, a marked AI proposal,
drafts, other patients' plans), and requests each with GET and POST as the patient.
"""

from __future__ import annotations

import itertools

import pytest
from django.urls import URLPattern, URLResolver, reverse

from healthcare import urls as healthcare_urls

from .workflow_helpers import (
    DRAFT_MARKER,
    PROPOSAL_MARKER,
    make_plan,
    make_published_plan,
    marked_proposal,
)

pytestmark = pytest.mark.django_db

PUBLISHED_MARKER = "ZQX-PUBLISHED-PLAN-TEXT"


def walk(patterns, prefix=""):
    """(route string, pattern) for every URL pattern, through includes."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def argument_names(pattern: URLPattern) -> list[str]:
    converters = getattr(pattern.pattern, "converters", {}) or {}
    return list(converters) or list(pattern.pattern.regex.groupindex)


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.fixture
def world(doctor, patient, other_patient):
    """Objects whose ids fill the URL arguments, text marked so leaks are easy to find."""
    proposals = [
        marked_proposal(patient, doctor, status="accepted"),
        marked_proposal(patient, doctor),  # pending review
        marked_proposal(patient, doctor, generation_status="running"),
        marked_proposal(patient, doctor, generation_status="failed"),
        marked_proposal(other_patient, doctor),
    ]
    published = make_published_plan(
        patient,
        doctor,
        ai_proposal=proposals[0],
        plan_title=f"{PUBLISHED_MARKER} title",
        assessment=f"{PUBLISHED_MARKER} assessment",
    )
    drafts = [
        make_plan(patient, doctor, plan_title=f"{DRAFT_MARKER} new", assessment=DRAFT_MARKER),
        make_plan(
            patient,
            doctor,
            previous_version=published,
            version=2,
            plan_title=f"{DRAFT_MARKER} revision",
            medications=f"{DRAFT_MARKER} meds",
        ),
        make_plan(other_patient, doctor, plan_title=f"{DRAFT_MARKER} other"),
    ]
    others_plan = make_published_plan(other_patient, doctor, plan_title=f"{DRAFT_MARKER} theirs")
    plan_ids = [published.pk, *(d.pk for d in drafts), others_plan.pk]
    proposal_ids = [p.pk for p in proposals]
    patient_ids = [patient.pk, other_patient.pk]
    return {
        "published": published,
        "values": {"plan_id": plan_ids, "proposal_id": proposal_ids, "patient_id": patient_ids},
        "any": sorted({*plan_ids, *proposal_ids, *patient_ids}),
    }


def urls_to_visit(world) -> list[str]:
    urls = []
    for route, pattern in walk(healthcare_urls.urlpatterns):
        names = argument_names(pattern)
        choices = [world["values"].get(name, world["any"]) for name in names]
        for combination in itertools.product(*choices):
            kwargs = dict(zip(names, combination, strict=True))
            if pattern.name:
                urls.append(reverse(pattern.name, kwargs=kwargs))
            else:  # unnamed: substitute by hand
                path = "/" + route
                for name, value in kwargs.items():
                    path = path.replace(f"<int:{name}>", str(value)).replace(
                        f"<{name}>", str(value)
                    )
                urls.append(path)
    return urls


def test_no_patient_response_contains_ai_or_draft_text(patient_client, world):
    urls = urls_to_visit(world)
    assert len(urls) > 20, "the walk should cover every page of the app"
    post_data = {
        "acknowledge": "1",
        "feedback": "1",
        "feedback_text": "Thanks",
        "decision": "accepted",
    }
    seen_published = False
    for url in urls:
        for method in ("get", "post"):
            kwargs = {"data": post_data} if method == "post" else {}
            response = getattr(patient_client, method)(url, follow=True, **kwargs)
            assert response.status_code != 500, url
            body = body_of(response)
            assert PROPOSAL_MARKER not in body, f"AI proposal text in {method.upper()} {url}"
            assert DRAFT_MARKER not in body, f"draft text in {method.upper()} {url}"
            seen_published = seen_published or PUBLISHED_MARKER in body
    assert seen_published, "the walk must reach the patient's own published plan"


def test_the_markers_are_visible_to_the_doctor(doctor_client, world):
    """Guard against a vacuous walk: the same objects do render their text for the doctor."""
    proposal_id = world["values"]["proposal_id"][0]
    body = doctor_client.get(reverse("doctor_view_ai_proposal", args=[proposal_id])).content
    assert PROPOSAL_MARKER.encode() in body
    draft_id = world["values"]["plan_id"][1]
    body = doctor_client.get(reverse("doctor_view_treatment_plan", args=[draft_id])).content
    assert DRAFT_MARKER.encode() in body
