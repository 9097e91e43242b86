"""`{% generation_activity as activity %}`: the logged-in doctor's generations, for the dashboard
partial (includes/generation_in_progress.html), so any page can include it without extra context."""

from __future__ import annotations

from django import template

from ..permissions import current_provider
from ..services.generation import doctor_generation_activity, generation_badge_class, readable_text

register = template.Library()
register.filter("generation_badge_class", generation_badge_class)


@register.simple_tag(takes_context=True)
def generation_activity(context) -> dict:
    request = context.get("request")
    provider = current_provider(request) if request is not None else None
    if provider is None:
        return {"in_progress": [], "ready": [], "failed": []}
    return doctor_generation_activity(provider)


@register.filter
def readable_generation(raw: str) -> str:
    """The streamed text as titled sections (plain text, still escaped by the template)."""
    return readable_text(raw or "")
