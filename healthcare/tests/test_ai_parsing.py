"""parse_ai_response: JSON first, salvage of broken JSON, then every heading style."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcare.ai.parsing import SECTION_FIELDS, split_heading
from healthcare.ai_treatment_generator import TreatmentPlanGenerator, parse_ai_response

from .ai_fakes import SECTIONS_JSON, json_reply_text

ALL = {
    "clinical_assessment": "Uncontrolled hypertension.",
    "treatment_goals": "BP below 130/80 in 3 months.",
    "medications_suggested": "Lisinopril 20 mg daily.",
    "lifestyle_recommendations": "Reduce salt.",
    "follow_up_recommendations": "Review in 2 weeks.",
    "warnings_and_precautions": "Penicillin allergy.",
}


def assert_all_sections(parsed):
    for field, expected in ALL.items():
        assert expected in parsed[field], field
    assert parsed["missing_sections"] == []
    assert parsed["is_complete"]


# --- JSON ---------------------------------------------------------------------------------------
def test_json_reply_fills_every_section():
    parsed = parse_ai_response(json_reply_text())
    assert parsed["structured"] is True
    assert parsed["parse_method"] == "json"
    assert parsed["medications_suggested"] == SECTIONS_JSON["medications"]
    assert parsed["follow_up_recommendations"] == SECTIONS_JSON["follow_up"]
    assert parsed["is_complete"]
    # proposed_treatment is the readable whole, not raw JSON
    assert "Medications:\nIncrease lisinopril" in parsed["proposed_treatment"]
    assert "{" not in parsed["proposed_treatment"]


def test_json_in_a_code_fence_with_prose_around():
    text = "Here is the plan:\n```json\n" + json_reply_text() + "\n```\n"
    parsed = parse_ai_response(text)
    assert parsed["structured"] is True
    assert parsed["warnings_and_precautions"] == SECTIONS_JSON["warnings_and_precautions"]


def test_json_with_lists_and_alias_keys():
    reply = json.dumps(
        {
            "assessment": "HTN",
            "goals": ["BP < 130/80", "A1c < 7%"],
            "medications_suggested": [{"name": "Lisinopril", "dose": "20 mg"}],
            "lifestyle": "Walk daily",
            "follow_up_recommendations": "2 weeks",
            "warnings": "Allergy",
            "extra_notes": "Something else",
        }
    )
    parsed = parse_ai_response(reply)
    assert parsed["clinical_assessment"] == "HTN"
    assert parsed["treatment_goals"] == "- BP < 130/80\n- A1c < 7%"
    assert "name: Lisinopril" in parsed["medications_suggested"]
    assert parsed["missing_sections"] == []
    assert "Something else" in parsed["proposed_treatment"]
    assert any("not text" in p for p in parsed["problems"])


def test_json_with_empty_required_section_is_incomplete():
    parsed = parse_ai_response(json_reply_text(follow_up="", medications="   "))
    assert parsed["missing_sections"] == ["medications_suggested", "follow_up_recommendations"]
    assert not parsed["is_complete"]


def test_json_missing_keys_is_incomplete():
    parsed = parse_ai_response(json.dumps({"medications": "Metformin"}))
    assert parsed["structured"] is True
    assert "clinical_assessment" in parsed["missing_sections"]
    assert not parsed["is_complete"]


def test_schema_breaking_output_cut_mid_json_is_salvaged():
    full = json_reply_text()
    cut = full[: full.index('"follow_up"') + 25]  # stopped by num_predict mid-value
    parsed = parse_ai_response(cut)
    assert parsed["structured"] is False
    assert parsed["parse_method"] == "salvaged"
    assert parsed["medications_suggested"] == SECTIONS_JSON["medications"]
    assert parsed["follow_up_recommendations"]  # the part that arrived
    assert parsed["warnings_and_precautions"] == ""
    assert not parsed["is_complete"]


def test_schema_breaking_output_with_wrong_shape_falls_back_to_headings():
    text = '["not", "an", "object"]\n## MEDICATIONS\nMetformin 500 mg'
    parsed = parse_ai_response(text)
    assert parsed["medications_suggested"] == "Metformin 500 mg"
    assert parsed["structured"] is False


def test_json_object_with_no_known_keys_is_kept_readable_and_incomplete():
    parsed = parse_ai_response(json.dumps({"foo": "bar\u001b"}))
    assert parsed["structured"] is False
    assert parsed["proposed_treatment"] == "foo:\nbar\x1b"  # decoded, not JSON escapes
    assert len(parsed["missing_sections"]) == len(SECTION_FIELDS)
    assert not parsed["is_complete"]


# --- Free-text heading styles ----------------------------------------------------------------
MARKDOWN = """## Clinical Assessment
Uncontrolled hypertension.

## Treatment Goals
BP below 130/80 in 3 months.

## MEDICATIONS
Lisinopril 20 mg daily.

## Lifestyle Modifications
Reduce salt.

## Follow-up
Review in 2 weeks.

## Warnings and Precautions
Penicillin allergy.
"""

BOLD = """**Assessment:** Uncontrolled hypertension.
**Goals:**
BP below 130/80 in 3 months.
**Medications:**
- Lisinopril 20 mg daily.
**Lifestyle Recommendations**: Reduce salt.
**Follow-up:**
Review in 2 weeks.
**Precautions:**
Penicillin allergy.
"""

NUMBERED = """1. Assessment
Uncontrolled hypertension.
2. Goals
BP below 130/80 in 3 months.
3. Medications
Lisinopril 20 mg daily.
4. Lifestyle
Reduce salt.
5. Follow-up
Review in 2 weeks.
6. Warnings
Penicillin allergy.
"""

CAPS = """ASSESSMENT:
Uncontrolled hypertension.
TREATMENT GOALS:
BP below 130/80 in 3 months.
MEDICATIONS:
Lisinopril 20 mg daily.
LIFESTYLE:
Reduce salt.
FOLLOW UP:
Review in 2 weeks.
WARNINGS:
Penicillin allergy.
"""

REORDERED = """### Warnings
Penicillin allergy.
### Follow-up
Review in 2 weeks.
### Medications
Lisinopril 20 mg daily.
### Assessment
Uncontrolled hypertension.
### Lifestyle Modifications
Reduce salt.
### Goals
BP below 130/80 in 3 months.
"""


@pytest.mark.parametrize(
    "text",
    [MARKDOWN, BOLD, NUMBERED, CAPS, REORDERED],
    ids=["markdown", "bold", "numbered", "caps-colon", "reordered"],
)
def test_each_heading_style(text):
    parsed = parse_ai_response(text)
    assert parsed["parse_method"] == "headings"
    assert parsed["structured"] is False
    assert_all_sections(parsed)
    assert parsed["proposed_treatment"] == text.strip()


def test_bold_inline_content_stays_with_its_heading():
    parsed = parse_ai_response(BOLD)
    assert parsed["clinical_assessment"] == "Uncontrolled hypertension."
    assert parsed["medications_suggested"] == "- Lisinopril 20 mg daily."


@pytest.mark.parametrize(
    ("heading", "field"),
    [
        ("Lifestyle Modifications", "lifestyle_recommendations"),
        ("Follow-up", "follow_up_recommendations"),
        ("Followup Plan", "follow_up_recommendations"),
        ("Monitoring", "follow_up_recommendations"),
        ("Warnings", "warnings_and_precautions"),
        ("Precautions", "warnings_and_precautions"),
        ("Red Flags", "warnings_and_precautions"),
        ("Assessment", "clinical_assessment"),
        ("Clinical Impression", "clinical_assessment"),
        ("Goals", "treatment_goals"),
        ("Treatment Objectives", "treatment_goals"),
        ("Pharmacological Management", "medications_suggested"),
        ("Non-pharmacological Treatment", "lifestyle_recommendations"),
        ("Diet & Exercise", "lifestyle_recommendations"),
        ("Suggested Medications", "medications_suggested"),
    ],
)
def test_synonyms(heading, field):
    parsed = parse_ai_response(f"## {heading}\nSome text.")
    assert parsed[field] == "Some text."


def test_numbered_items_inside_a_section_are_content_not_headings():
    text = """## Medications
1. Lisinopril 20 mg daily
2. Monitor blood pressure weekly at home
## Follow-up
Target: BP below 130/80
"""
    parsed = parse_ai_response(text)
    assert "Monitor blood pressure weekly" in parsed["medications_suggested"]
    assert parsed["follow_up_recommendations"] == "Target: BP below 130/80"


def test_unknown_heading_closes_a_section_and_text_stays_in_proposed_treatment():
    text = "Intro line.\n## Medications\nMetformin\n## Patient Education\nExplain the plan."
    parsed = parse_ai_response(text)
    assert parsed["medications_suggested"] == "Metformin"
    assert "Explain the plan." in parsed["proposed_treatment"]
    assert "Intro line." in parsed["proposed_treatment"]
    assert "Explain" not in parsed["medications_suggested"]


def test_repeated_section_is_joined():
    parsed = parse_ai_response("## Diet\nLess salt.\n## Exercise\nWalk daily.")
    assert parsed["lifestyle_recommendations"] == "Less salt.\nWalk daily."


def test_reply_missing_sections_is_flagged_incomplete():
    parsed = parse_ai_response("## Medications\nMetformin 500 mg")
    assert not parsed["is_complete"]
    assert "warnings_and_precautions" in parsed["missing_sections"]
    assert "medications_suggested" not in parsed["missing_sections"]


def test_plain_prose_goes_into_proposed_treatment():
    text = "The patient should lower salt intake and come back soon."
    parsed = parse_ai_response(text)
    assert parsed["parse_method"] == "none"
    assert parsed["proposed_treatment"] == text
    assert all(parsed[f] == "" for f in SECTION_FIELDS)


@pytest.mark.parametrize("value", [None, "", "   ", "{", "}", "```", "**", "##", ":", "1.", 42])
def test_odd_inputs_do_not_crash(value):
    parsed = parse_ai_response(value)
    assert set(SECTION_FIELDS) <= parsed.keys()
    assert isinstance(parsed["proposed_treatment"], str)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_crashes_on_any_string(text):
    parsed = parse_ai_response(text)
    assert isinstance(parsed["proposed_treatment"], str)
    assert all(isinstance(parsed[f], str) for f in SECTION_FIELDS)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "## MEDICATIONS",
                "**Medications:**",
                "1. Medications",
                "MEDICATIONS:",
                "{",
                '"',
                "```json",
                "Follow-up: 2 weeks",
                "- item",
                "",
                "\x00",
                "### ",
                "**",
                "\\",
            ]
        )
    )
)
def test_never_crashes_on_heading_soup(lines):
    parse_ai_response("\n".join(lines))


def test_split_heading_rejects_long_lines():
    assert split_heading("Medications: " + "x" * 400) is None
    assert split_heading("This is a long sentence about medications and other things here") is None


def test_generator_exposes_the_parser():
    assert TreatmentPlanGenerator(model="llama3.2").parse_ai_response(MARKDOWN)["is_complete"]
