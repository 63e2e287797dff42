"""Callback routes under ``/v1`` (resend, delivery log)."""

urlpatterns = []
