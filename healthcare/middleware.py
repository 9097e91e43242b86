"""Response headers that Django's SecurityMiddleware does not set.

- `Cache-Control: no-store` on every page the application renders (static files are answered
  earlier, by WhiteNoise, with their own long cache): pages carry health information or CSRF
  tokens, and on a shared clinic workstation the browser's back button or disk cache must not
  show the previous user's patient after logout. A view that sets its own Cache-Control keeps it.
- `Permissions-Policy`: the application uses no camera, microphone, location or payment API;
  nothing embedded could ask for them either.
- `Cross-Origin-Resource-Policy: same-origin`: other sites cannot load our responses.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store, max-age=0, private"
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class MethodNotAllowedPageMiddleware:
    """A readable page for 405 instead of Django's empty response.

    Actions such as publish or acknowledge are POST-only; reopening their address (the browser's
    address bar still shows it after a form error) would otherwise show a blank error page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and request.method == "GET":
            page = render(request, "405.html", status=405)
            page["Allow"] = response.get("Allow", "")
            return page
        return response
