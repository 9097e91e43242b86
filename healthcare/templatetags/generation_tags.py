"""`{% generation_activity as activity %}`: the logged-in doctor's generations, for the dashboard
partial (includes/generation_in_progress.html), so any page can include it without extra context."""

from __future__ import annotations

from django import template

from ..permissions import current_provider
from ..services.generation import doctor_generation_activity, readable_text

register = template.Library()

GENERATION_BADGES = {
    "queued": "text-bg-secondary",
    "running": "text-bg-info",
    "completed": "text-bg-success",
    "incomplete": "text-bg-warning",
    "failed": "text-bg-danger",
}


@register.simple_tag(takes_context=True)
def generation_activity(context) -> dict:
    request = context.get("request")
    provider = current_provider(request) if request is not None else None
    if provider is None:
        return {"in_progress": [], "ready": [], "failed": []}
    return doctor_generation_activity(provider)


@register.filter
def generation_badge_class(status: str) -> str:
    return GENERATION_BADGES.get(status, "text-bg-secondary")


@register.filter
def readable_generation(raw: str) -> str:
    """The streamed text as titled sections (plain text, still escaped by the template)."""
    return readable_text(raw or "")
