"""The operators' admin site: Django's own, plus the callback dashboard (SPEC §1, §6.8).

Installed as the default site (``scalehooks.apps.ScaleHooksAdminConfig``), so
every app's ``admin.site.register`` (django-q2's included) lands here.
"""

from django.contrib import admin
from django.urls import path

from callbacks_app.dashboard import dashboard_view


class ScaleHooksAdminSite(admin.AdminSite):
    site_header = "ScaleHooks administration"
    site_title = "ScaleHooks admin"
    index_title = "Operations"
    index_template = "admin/scalehooks_index.html"

    def get_urls(self):
        return [
            path("dashboard/", self.admin_view(self.dashboard), name="dashboard"),
            *super().get_urls(),
        ]

    def dashboard(self, request):
        return dashboard_view(request, site=self)
