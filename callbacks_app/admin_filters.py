"""The ledger's list filters in the admin: retrying deliveries, an account, a mode."""

from django.contrib import admin
from django.contrib.auth import get_user_model

from callbacks_app.models import Delivery


class RetryingFilter(admin.SimpleListFilter):
    """Pending after a failed attempt: awaiting a retry (the dashboard links here)."""

    title = "retrying"
    parameter_name = "retrying"

    def lookups(self, request, model_admin):
        return [("yes", "Awaiting a retry (a failed attempt)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Delivery.Status.PENDING, attempt_count__gt=0)
        return queryset


class AccountFilter(admin.SimpleListFilter):
    """The account a delivery belongs to (the operators' alerts belong to none). Lists the
    accounts, not the ledger's distinct owners: no scan of the deliveries."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request, model_admin):
        accounts = get_user_model().objects.filter(profile__isnull=False, is_staff=False).order_by("email")
        return [(str(user.id), user.email or user.get_username()) for user in accounts]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(owner_id=self.value())
        return queryset


class ModeFilter(admin.SimpleListFilter):
    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return [("live", "live"), ("test", "test")]

    def queryset(self, request, queryset):
        if self.value() in ("live", "test"):
            return queryset.filter(is_test=self.value() == "test")
        return queryset
