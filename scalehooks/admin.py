"""The operators' admin site: Django's own, plus the callback dashboard (SPEC §1, §6.8).

Installed as the default site (``scalehooks.apps.ScaleHooksAdminConfig``), so
every app's ``admin.site.register`` (django-q2's included) lands here.
"""

from django.contrib import admin
from django.urls import URLResolver, path

from callbacks_app.dashboard import dashboard_view
from scalehooks import access
from tasks_app.operators import OPERATOR_PERMISSIONS

# The admin is the operators' (SPEC §8 "People"): every page asks for an active staff user
# (Django's ``admin_view``) and each model page for its permission. The pages of a model whose
# view permission the Operators group holds (``tasks_app.operators``) are the operators'; the
# others (users, groups, django-axes' logs), and adding or deleting rows anywhere (operators hold
# no add or delete permission), are a superuser's. Only signing in and out serve anybody.
LOGIN_WHY = "the operators' sign-in form: django-axes locks out repeated wrong passwords; CSRF-protected"


class ScaleHooksAdminSite(admin.AdminSite):
    site_header = "ScaleHooks administration"
    site_title = "ScaleHooks admin"
    index_title = "Operations"
    index_template = "admin/scalehooks_index.html"
    # No "View site" link: the service has no site of its own at "/" (the portal is the
    # customers', which no operator signs in to).
    site_url = None

    def get_urls(self):
        urls = [
            path("dashboard/", self.admin_view(self.dashboard), name="dashboard"),
            *super().get_urls(),
        ]
        models = {f"{model._meta.app_label}/{model._meta.model_name}/": model for model in self._registry}
        for entry in urls:
            model = models.get(str(entry.pattern)) if isinstance(entry, URLResolver) else None
            if model is not None:
                app_label, name = model._meta.app_label, model._meta.model_name
                seen_by_operators = (app_label, f"view_{name}") in OPERATOR_PERMISSIONS
                access.routes_declare(
                    entry.url_patterns,
                    access.OPERATOR if seen_by_operators else access.SUPERUSER,
                    by_name={f"{app_label}_{name}_{view}": access.SUPERUSER for view in ("add", "delete")},
                )
        return access.routes_declare(
            urls,
            access.OPERATOR,
            by_name={
                "login": access.public(LOGIN_WHY),
                "logout": access.public("ends the caller's own admin session only; POST with CSRF"),
                "autocomplete": access.SUPERUSER,  # no admin here has an autocomplete field
            },
        )

    def dashboard(self, request):
        return dashboard_view(request, site=self)
