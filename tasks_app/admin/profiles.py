"""Operators' admin for customer accounts: callback settings and key rotation (SPEC §3; STYLE 12)."""

import re

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from scalehooks.audit import audit_record, audit_trail, audit_trail_html
from tasks_app import accounts
from tasks_app.keys import Mode, mask_secret
from tasks_app.models import Profile
from tasks_app.validators import validate_allowed_networks, validate_callback_target

ACTIVITY_SHOWN = 50


class NetworksField(forms.CharField):
    """CIDRs, one a line (or comma-separated), as a normalised list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return validate_allowed_networks([part for part in re.split(r"[\s,]+", text) if part])


class ProfileForm(forms.ModelForm):
    allowed_networks = NetworksField(
        required=False,
        help_text=(
            "Otherwise forbidden networks (CIDR, one a line) this account's callbacks may reach, "
            "e.g. its receivers on your private network. What those receivers answer, and the "
            "errors met on the way, are shown to operators only, never to the customer."
        ),
    )

    class Meta:
        model = Profile
        fields = ("live_default_callback_url", "test_default_callback_url", "allowed_networks")

    def _clean_target(self, name):
        networks = self.cleaned_data.get("allowed_networks", self.instance.allowed_networks) or []
        return validate_callback_target(self.cleaned_data[name], allowed_networks=networks)

    def clean(self):
        cleaned = super().clean()
        # The URLs are checked against the networks being saved (a field's own clean runs first).
        for name in ("live_default_callback_url", "test_default_callback_url"):
            if name in cleaned:
                try:
                    cleaned[name] = self._clean_target(name)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("user", "live_default_callback_url", "live_api_key", "test_api_key", "created_at")
    search_fields = (
        "user__email",
        "user__username",
        "live_default_callback_url",
        "test_default_callback_url",
    )
    list_select_related = ("user",)
    fields = (
        "user",
        "live_default_callback_url",
        "test_default_callback_url",
        "allowed_networks",
        "live_api_key",
        "test_api_key",
        "live_callback_auth_key_masked",
        "test_callback_auth_key_masked",
        "live_signing_secret_masked",
        "live_previous_signing_secret_expires_at",
        "test_signing_secret_masked",
        "test_previous_signing_secret_expires_at",
        "created_at",
        "activity",
    )
    readonly_fields = tuple(f for f in fields if f not in ProfileForm.Meta.fields)
    actions = [
        "rotate_api_keys",
        "rotate_live_callback_auth_key",
        "rotate_test_callback_auth_key",
        "rotate_live_signing_secret",
        "rotate_test_signing_secret",
    ]

    def has_add_permission(self, request):
        return False  # accounts are created with `manage.py create_account`, which issues keys

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:  # the audit trail, beside the admin's own "Recent actions"
            changes = {
                name: [form.initial.get(name), form.cleaned_data.get(name)] for name in form.changed_data
            }
            audit_record(action="settings.update", target=obj, account_id=obj.user_id, changes=changes)

    @admin.display(description="activity (newest first)")
    def activity(self, obj):
        return audit_trail_html(audit_trail(account_id=obj.user_id)[:ACTIVITY_SHOWN])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="live API key")
    def live_api_key(self, obj):
        return obj.live_api_key_prefix + "…" if obj.live_api_key_prefix else "–"

    @admin.display(description="test API key")
    def test_api_key(self, obj):
        return obj.test_api_key_prefix + "…" if obj.test_api_key_prefix else "–"

    @admin.display(description="live callback auth key")
    def live_callback_auth_key_masked(self, obj):
        return mask_secret(obj.live_callback_auth_key)

    @admin.display(description="test callback auth key")
    def test_callback_auth_key_masked(self, obj):
        return mask_secret(obj.test_callback_auth_key)

    @admin.display(description="live signing secret")
    def live_signing_secret_masked(self, obj):
        return mask_secret(obj.live_signing_secret)

    @admin.display(description="test signing secret")
    def test_signing_secret_masked(self, obj):
        return mask_secret(obj.test_signing_secret)

    @admin.action(description="Rotate API keys (shown once)", permissions=["change"])
    def rotate_api_keys(self, request, queryset):
        issued = [
            (profile, accounts.api_keys_rotate(profile=profile))
            for profile in queryset.select_related("user")
        ]
        for profile, _ in issued:
            self.log_change(request, profile, "Rotated the API keys.")
        self.message_user(
            request,
            f"Rotated the API keys of {len(issued)} account{'s' if len(issued) != 1 else ''}; "
            "the old keys no longer work.",
            messages.SUCCESS,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "New API keys",
            "opts": self.opts,
            "issued": issued,
        }
        response = TemplateResponse(request, "admin/tasks_app/profile/rotated_keys.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def _rotate_callback_auth_key(self, request, queryset, mode):
        count = 0
        for profile in queryset:
            accounts.callback_auth_key_rotate(profile=profile, mode=mode)
            self.log_change(request, profile, f"Rotated the {mode} callback auth key.")
            count += 1
        self.message_user(
            request,
            f"Rotated the {mode} callback auth key of {count} account{'s' if count != 1 else ''}; "
            "callbacks sent from now on carry the new key (customers read it from GET /v1/profile).",
            messages.SUCCESS,
        )

    @admin.action(description="Rotate the live callback auth key", permissions=["change"])
    def rotate_live_callback_auth_key(self, request, queryset):
        self._rotate_callback_auth_key(request, queryset, Mode.LIVE)

    @admin.action(description="Rotate the test callback auth key", permissions=["change"])
    def rotate_test_callback_auth_key(self, request, queryset):
        self._rotate_callback_auth_key(request, queryset, Mode.TEST)

    def _rotate_signing_secret(self, request, queryset, mode):
        count = 0
        for profile in queryset:
            accounts.signing_secret_rotate(profile=profile, mode=mode)
            self.log_change(request, profile, f"Rotated the {mode} signing secret.")
            count += 1
        self.message_user(
            request,
            f"Rotated the {mode} signing secret of {count} account{'s' if count != 1 else ''}; "
            "the previous secret keeps signing for 24 hours.",
            messages.SUCCESS,
        )

    @admin.action(description="Rotate the live signing secret (old one valid 24 h)", permissions=["change"])
    def rotate_live_signing_secret(self, request, queryset):
        self._rotate_signing_secret(request, queryset, Mode.LIVE)

    @admin.action(description="Rotate the test signing secret (old one valid 24 h)", permissions=["change"])
    def rotate_test_signing_secret(self, request, queryset):
        self._rotate_signing_secret(request, queryset, Mode.TEST)
