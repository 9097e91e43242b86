"""The role of a login. The profile is the one place that says what a user is."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models


class UserProfile(models.Model):
    class Role(models.TextChoices):
        DOCTOR = "doctor", "Doctor"
        PATIENT = "patient", "Patient"
        ADMIN = "admin", "Administrator"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["role"])]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    # The link to the clinical record lives on Provider.user and Patient.user; these
    # properties make `request.user.profile.provider` / `.patient` work as the spec uses them.
    @property
    def provider(self):
        if self.role != self.Role.DOCTOR:
            return None
        try:
            return self.user.provider
        except ObjectDoesNotExist:
            return None

    @property
    def patient(self):
        if self.role != self.Role.PATIENT:
            return None
        try:
            return self.user.patient
        except ObjectDoesNotExist:
            return None

    def clean(self) -> None:
        if self.role == self.Role.DOCTOR and self.user_id and self.provider is None:
            raise ValidationError({"role": "A doctor's login must be linked to a Provider record."})
        if self.role == self.Role.PATIENT and self.user_id and self.patient is None:
            raise ValidationError({"role": "A patient's login must be linked to a Patient record."})
