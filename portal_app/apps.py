from django.apps import AppConfig


class PortalAppConfig(AppConfig):
    """The customer portal (SPEC §14): server-rendered pages under ``/portal/``."""

    name = "portal_app"
    verbose_name = "Customer portal"
