"""Settings: the default callback URL, a test callback, the keys and secrets (new ones shown once)."""

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.db.models import Q
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from callbacks_app.services import callback_test_send
from portal_app.access import portal_password_changed
from portal_app.views.common import page, portal_view, refuse_get
from scalehooks import access
from scalehooks.audit import audit_trail
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
@portal_view(access.READ)
def settings_page(request):
    return page(request, "portal/settings.html", _settings_context(request.member))


@sensitive_post_parameters("new_password1", "new_password2")
@portal_view(access.OWN_PASSWORD)
def password_set(request):
    """The signed-in person's own password, for the password sign-in (Django's validators). A
    teammate arrives by a link without one. A password signs in to both sides: a session that
    reaches the test side only may not set it (``Action.OWN_PASSWORD``)."""
    if refused := refuse_get(request):
        return refused
    form = SetPasswordForm(request.member.user, request.POST)
    if not form.is_valid():
        context = _settings_context(request.member, password_form=form)
        return page(request, "portal/settings.html", context, status=400)
    user = form.save()
    portal_password_changed(request, user)
    messages.success(request, "Your password is set: you may sign in with it from now on.")
    return redirect("portal:settings")


@portal_view(access.CONFIGURE)
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


@portal_view(access.OPERATE)
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


def _rotation(request, *, what: str, stops: list[str], rotate):
    """A rotation in two steps (SPEC §8 "Sessions"): GET, or a POST without ``confirm``, shows
    what stops working; the POST of its confirm button rotates and shows the new secrets once."""
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        return page(request, "portal/rotate_confirm.html", {"what": what, "stops": stops})
    label, secrets = rotate()
    return _rotated(request, label, secrets)


@never_cache
@portal_view(access.CONFIGURE)
def rotate_callback_auth_key(request):
    member = request.member
    mode = member.mode

    def rotate():
        key = accounts.callback_auth_key_rotate(profile=member.account, mode=mode)
        return "callback auth key", [(f"New {mode} callback auth key", key)]

    stops = [
        f"Every callback of the {mode} side sends the new key in scale-callback-auth from its next "
        "attempt on, retries of earlier callbacks included.",
        "A receiver that checks the old key refuses them until it has the new one; refused callbacks "
        "are retried for 24 hours.",
    ]
    return _rotation(request, what=f"the {mode} callback auth key", stops=stops, rotate=rotate)


@never_cache
@portal_view(access.CONFIGURE)
def rotate_signing_secret(request):
    member = request.member
    mode = member.mode

    def rotate():
        secret = accounts.signing_secret_rotate(profile=member.account, mode=mode)
        return "signing secret", [
            (f"New {mode} signing secret (the previous one keeps signing for 24 h)", secret)
        ]

    stops = [
        f"Callbacks of the {mode} side are signed with the new secret and, for 24 hours, with the "
        "current one too (two webhook-signature values).",
        "After 24 hours the current secret signs nothing: a receiver that verifies with it refuses "
        "every callback from then on.",
    ]
    return _rotation(request, what=f"the {mode} signing secret", stops=stops, rotate=rotate)


@never_cache
@portal_view(access.MANAGE_ACCOUNT)
def rotate_api_keys(request):
    account = request.member.account

    def rotate():
        keys = accounts.api_keys_rotate(profile=account)
        return "API keys", [("New live API key", keys.live_api_key), ("New test API key", keys.test_api_key)]

    stops = [
        f"Both API keys stop working at once: the live key ({account.live_api_key_prefix}…) and the "
        f"test key ({account.test_api_key_prefix}…). Every program calling the API with them gets a "
        "401 until it has the new keys.",
        "Portal sessions opened by links made with them end, this one included if it was.",
        "Callbacks, their auth keys and signing secrets are not affected.",
    ]
    return _rotation(request, what="both API keys", stops=stops, rotate=rotate)


ACTIVITY_SHOWN = 100


@portal_view(access.READ)
def activity(request):
    """Who did what to the account, when and from where (the audit trail): this side's actions
    and the account's own (its keys, its team), newest first."""
    member = request.member
    entries = audit_trail(account_id=member.account.user_id).filter(
        Q(additional_data__mode=member.mode) | Q(additional_data__mode=None)
    )[:ACTIVITY_SHOWN]
    return page(request, "portal/activity.html", {"entries": entries})
