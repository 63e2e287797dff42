from django.contrib.admin.apps import AdminConfig


class ScaleHooksAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ScaleHooks' site (dashboard included) as the default site."""

    default_site = "scalehooks.admin.ScaleHooksAdminSite"
