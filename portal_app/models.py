"""The portal's one table: one-time sign-in links (SPEC §14)."""

from django.conf import settings
from django.db import models

from tasks_app.keys import Mode
from tasks_app.models import Profile


class PortalLink(models.Model):
    """A one-time sign-in link to the portal: a 128-bit token, of which only the SHA-256 is
    stored, valid 15 minutes, used once (``used_at``). It opens the side (``mode``) of the key
    or command that asked for it, as ``user`` (the owner or a teammate) of ``account``; a test
    side's link reaches the test side only (``portal_app.access.reach_of``)."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_links")
    account = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="portal_links")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.TEST)
    # The stored hash of the API key that asked for the link ("" from the command line): the
    # session it opens ends when that key is rotated (SPEC §8 "Sessions").
    key_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"portal link of {self.user} ({'used' if self.used_at else 'unused'})"
