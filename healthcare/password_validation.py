"""A password validator for what Django's own four let through.

Django refuses short, common, all-digit and user-like passwords, but accepts
"aaaaaaaaaaaa", "passwordpassword" and "abcdefghijkl": repeated or sequential characters,
which NIST SP 800-63B asks verifiers to refuse. This one refuses them.
"""

from __future__ import annotations

from itertools import pairwise

from django.core.exceptions import ValidationError


def _is_repetition(password: str) -> bool:
    """True when the password is one shorter piece repeated ("abcabcabcabc")."""
    n = len(password)
    return any(n % size == 0 and password[:size] * (n // size) == password for size in range(1, n))


def _longest_sequential_run(password: str) -> int:
    """Length of the longest run like "abcd", "4321" or "aaaa" (steps of -1, 0 or +1)."""
    best = run = 1
    step = None
    for previous, current in pairwise(password):
        delta = ord(current) - ord(previous)
        if delta in (-1, 0, 1) and (step is None or delta == step):
            run += 1
            step = delta
        else:
            run = 2 if delta in (-1, 0, 1) else 1
            step = delta if delta in (-1, 0, 1) else None
        best = max(best, run)
    return best


class RepetitivePasswordValidator:
    """Refuse passwords made of repeated or sequential characters."""

    def __init__(self, min_distinct: int = 6):
        self.min_distinct = min_distinct

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        if (
            len(set(lowered)) < self.min_distinct
            or _is_repetition(lowered)
            or _longest_sequential_run(lowered) > len(lowered) // 2
        ):
            raise ValidationError(
                "This password is made of repeated or sequential characters; "
                "choose one that is harder to guess.",
                code="password_repetitive",
            )

    def get_help_text(self) -> str:
        return (
            f"Your password must use at least {self.min_distinct} different characters and "
            "cannot be a repeated or sequential pattern."
        )
