"""Settings: the default callback URL, a test callback, the keys and secrets (new ones shown once)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import SetPasswordForm
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from callbacks_app.services import callback_test_send
from portal_app.access import portal_password_changed
from portal_app.views.common import not_found, page, portal_view, refuse_get
from tasks_app import accounts
from tasks_app.keys import mask_secret
from tasks_app.teams import teammates_list


def _settings_context(member, *, password_form=None) -> dict:
    account, mode = member.account, member.mode
    previous, previous_until = account.previous_signing_secret_of(mode)
    return {
        "default_url": account.default_callback_url_of(mode),
        "callback_auth_key": mask_secret(account.callback_auth_key(mode)),
        "signing_secret": mask_secret(account.signing_secret_of(mode)),
        "previous_signing_secret": mask_secret(previous),
        "previous_until": previous_until,
        "api_key_prefix": getattr(account, f"{mode}_api_key_prefix"),
        "team": teammates_list(account=account),
        "password_form": password_form or SetPasswordForm(member.user),
        "has_password": member.user.has_usable_password(),
    }


@never_cache
@portal_view
def settings_page(request):
    return page(request, "portal/settings.html", _settings_context(request.member))


@sensitive_post_parameters("new_password1", "new_password2")
@portal_view
def password_set(request):
    """The signed-in person's own password, for the password sign-in (Django's validators). A
    teammate arrives by a link without one. An operator's admin session in this browser, if it
    is the same user, stays valid."""
    if refused := refuse_get(request):
        return refused
    form = SetPasswordForm(request.member.user, request.POST)
    if not form.is_valid():
        context = _settings_context(request.member, password_form=form)
        return page(request, "portal/settings.html", context, status=400)
    # Whether the admin's session is this user's, read before the password changes: read
    # after, the admin's check of the session's hash would fail and flush the whole session.
    signed_in_to_admin = request.user.is_authenticated and request.user.pk == request.member.user.pk
    user = form.save()
    if signed_in_to_admin:
        update_session_auth_hash(request, user)
    portal_password_changed(request, user)
    messages.success(request, "Your password is set: you may sign in with it from now on.")
    return redirect("portal:settings")


@portal_view
def default_url_set(request):
    """The same service as ``PATCH /v1/profile``: validated as every callback target (§8)."""
    if refused := refuse_get(request):
        return refused
    member = request.member
    accounts.profile_update(
        profile=member.account, mode=member.mode, default_callback_url=request.POST.get("url", "").strip()
    )
    messages.success(request, f"The {member.mode} default callback URL is saved.")
    return redirect("portal:settings")


@portal_view
def test_callback_send(request):
    if refused := refuse_get(request):
        return refused
    delivery = callback_test_send(profile=request.member.account, mode=request.member.mode)
    messages.success(request, f"A callback.test is on its way to {delivery.target}.")
    return redirect("portal:delivery", delivery_id=delivery.id)


def _rotated(request, label: str, secrets: list[tuple[str, str]]):
    """The settings page with the new secrets, once: in the answer of the POST itself (never
    cached), not kept anywhere (a plain API key is never stored, not even in the session), so
    no later page shows them again."""
    context = {**_settings_context(request.member), "rotated": label, "new_secrets": secrets}
    return page(request, "portal/settings.html", context)


@never_cache
@portal_view
def rotate(request, what: str):
    """Rotate the callback auth key or the signing secret of this side, or both API keys."""
    if refused := refuse_get(request):
        return refused
    member = request.member
    if not member.may_rotate_keys:
        return page(request, "portal/forbidden.html", status=403)
    if what == "callback-auth-key":
        key = accounts.callback_auth_key_rotate(profile=member.account, mode=member.mode)
        return _rotated(request, "callback auth key", [(f"New {member.mode} callback auth key", key)])
    if what == "signing-secret":
        secret = accounts.signing_secret_rotate(profile=member.account, mode=member.mode)
        label = f"New {member.mode} signing secret (the previous one keeps signing for 24 h)"
        return _rotated(request, "signing secret", [(label, secret)])
    if what != "api-keys":
        return not_found(request)
    keys = accounts.api_keys_rotate(profile=member.account)
    return _rotated(
        request,
        "API keys",
        [("New live API key", keys.live_api_key), ("New test API key", keys.test_api_key)],
    )
