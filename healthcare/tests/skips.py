"""Skip a test whose outside dependency is missing, except under CI=true, where that fails it.

CI installs and starts everything (.ci/run: PostgreSQL, Redis, chromium, Ollama); a skip there
would hide a broken set-up, so every "needs X" check in the tests goes through `skip_or_fail`.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with `reason`; under CI=true fail with it instead."""
    if in_ci():
        pytest.fail(f"CI=true requires this test to run, but: {reason}")
    pytest.skip(reason)
