"""Customer accounts and their keys (SPEC §3)."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scalehooks.audit import audit_record
from tasks_app.keys import (
    Mode,
    api_key_prefix,
    generate_api_key,
    generate_callback_auth_key,
    generate_signing_secret,
    hash_api_key,
    mode_field,
)
from tasks_app.models import Profile
from tasks_app.operators import operator_add
from tasks_app.validators import validate_allowed_networks, validate_callback_target


@dataclass(frozen=True)
class IssuedKeys:
    """Plain API keys, to be shown once and then forgotten."""

    live_api_key: str
    test_api_key: str


@dataclass(frozen=True)
class IssuedAccount:
    """A new account: its profile and its plain API keys (shown once, never stored)."""

    profile: Profile
    keys: IssuedKeys

    @property
    def user(self):
        return self.profile.user

    @property
    def live_api_key(self) -> str:
        return self.keys.live_api_key

    @property
    def test_api_key(self) -> str:
        return self.keys.test_api_key


def issued_secrets(*, profile: Profile, keys: IssuedKeys) -> list[tuple[str, str]]:
    """The secrets an account holder needs, labelled, as the commands print them once."""
    return [
        ("Live API key", keys.live_api_key),
        ("Test API key", keys.test_api_key),
        ("Live callback auth key", profile.live_callback_auth_key),
        ("Test callback auth key", profile.test_callback_auth_key),
        ("Live signing secret", profile.live_signing_secret),
        ("Test signing secret", profile.test_signing_secret),
    ]


def _issue_api_keys(profile: Profile) -> IssuedKeys:
    live, test = generate_api_key(Mode.LIVE), generate_api_key(Mode.TEST)
    profile.live_api_key_hash, profile.live_api_key_prefix = hash_api_key(live), api_key_prefix(live)
    profile.test_api_key_hash, profile.test_api_key_prefix = hash_api_key(test), api_key_prefix(test)
    return IssuedKeys(live_api_key=live, test_api_key=test)


def _validated(name: str, validate, *args, **kwargs):
    """``validate(*args, **kwargs)``, its ValidationError keyed by the argument ``name``."""
    try:
        return validate(*args, **kwargs)
    except ValidationError as exc:
        raise ValidationError({name: exc.messages}) from None


def email_normalized(email: str) -> str:
    """The one form of an address: case variants are one address (in full, the local part too)."""
    return email.strip().lower()


def email_in_use(*, email: str) -> bool:
    """Whether a user of any kind (an operator, an account's owner or teammate, anybody) holds
    ``email``, as its email or its user name, in any case."""
    address = email_normalized(email)
    return get_user_model().objects.filter(Q(email__iexact=address) | Q(username__iexact=address)).exists()


def account_create(
    *,
    email: str,
    staff: bool = False,
    default_callback_url: str = "",
    test_default_callback_url: str = "",
    allowed_networks: list[str] = (),
) -> IssuedAccount:
    """Create a user and profile with fresh keys; the plain API keys are returned once.

    ``staff``: an operator (staff, in the Operators group: the admin and ``/v1/ops``).
    ``default_callback_url`` is the live default, ``test_default_callback_url``
    the test one; ``allowed_networks`` (CIDRs) are the otherwise forbidden
    networks this account's callbacks may reach (SPEC §8). An email already held by a user, in
    any case, is refused (a ``ValidationError`` on ``email``); a pending team invitation of the
    address is no user and does not block it.
    """
    networks = _validated("allowed_networks", validate_allowed_networks, list(allowed_networks))
    for name, url in (
        ("default_callback_url", default_callback_url),
        ("test_default_callback_url", test_default_callback_url),
    ):
        _validated(name, validate_callback_target, url, allowed_networks=networks)
    with transaction.atomic():
        if email_in_use(email=email):
            raise ValidationError(
                {
                    "email": [
                        f"A user with the email address {email} already exists (addresses are one in any case)."
                    ]
                }
            )
        user = get_user_model().objects.create_user(username=email, email=email)
        if staff:
            operator_add(user=user)
        profile = Profile(
            user=user,
            live_default_callback_url=default_callback_url,
            test_default_callback_url=test_default_callback_url,
            allowed_networks=networks,
        )
        keys = _issue_api_keys(profile)
        profile.save()
        audit_record(action="account.create", target=profile, account_id=user.pk, staff=staff)
    return IssuedAccount(profile=profile, keys=keys)


def api_keys_rotate(*, profile: Profile) -> IssuedKeys:
    """Replace both API keys; the old ones stop working at once."""
    keys = _issue_api_keys(profile)
    profile.save(
        update_fields=[
            "live_api_key_hash",
            "live_api_key_prefix",
            "test_api_key_hash",
            "test_api_key_prefix",
        ]
    )
    audit_record(
        action="keys.rotate_api_keys",
        target=profile,
        account_id=profile.user_id,
        new_prefixes=[profile.live_api_key_prefix, profile.test_api_key_prefix],
    )
    return keys


def callback_auth_key_rotate(*, profile: Profile, mode: str) -> str:
    """Replace the callback auth key of ``mode``; callbacks sent from now on carry the new one."""
    field = mode_field(mode, "callback_auth_key")
    key = generate_callback_auth_key()
    setattr(profile, field, key)
    profile.save(update_fields=[field])
    audit_record(
        action="keys.rotate_callback_auth_key", target=profile, account_id=profile.user_id, mode=mode
    )
    return key


SIGNING_SECRET_OVERLAP = timedelta(hours=24)


def signing_secret_rotate(*, profile: Profile, mode: str) -> str:
    """Replace the signing secret of ``mode``; the previous one stays valid (both
    signatures are sent) for 24 h. The other mode's secrets are left alone."""
    current, previous, expires_at = (
        mode_field(mode, name)
        for name in ("signing_secret", "previous_signing_secret", "previous_signing_secret_expires_at")
    )
    setattr(profile, previous, getattr(profile, current))
    setattr(profile, expires_at, timezone.now() + SIGNING_SECRET_OVERLAP)
    setattr(profile, current, generate_signing_secret())
    profile.save(update_fields=[current, previous, expires_at])
    audit_record(action="keys.rotate_signing_secret", target=profile, account_id=profile.user_id, mode=mode)
    return getattr(profile, current)


def profile_update(
    *,
    profile: Profile,
    mode: str,
    default_callback_url: str | None = None,
    test_tasks_autocomplete: bool | None = None,
) -> Profile:
    """Change what is given: the default callback URL of ``mode`` (validated as every callback
    target, §8; the other mode's is left alone), whether the account's test tasks complete
    themselves (SPEC §13)."""
    changed = {}
    if default_callback_url is not None:
        validate_callback_target(default_callback_url, allowed_networks=profile.allowed_networks)
        field = mode_field(mode, "default_callback_url")
        changed[field] = [getattr(profile, field), default_callback_url]
        setattr(profile, field, default_callback_url)
    if test_tasks_autocomplete is not None:
        changed["test_tasks_autocomplete"] = [profile.test_tasks_autocomplete, test_tasks_autocomplete]
        profile.test_tasks_autocomplete = test_tasks_autocomplete
    profile.save(update_fields=list(changed))
    if changed:
        audit_record(
            action="settings.update", target=profile, account_id=profile.user_id, mode=mode, changes=changed
        )
    return profile


def profile_allowed_networks_set(*, profile: Profile, networks: list[str]) -> Profile:
    """Set the otherwise forbidden networks this account's callbacks may reach (an operator's
    decision, SPEC §8). What its attempts to them answer is shown to operators only."""
    before = profile.allowed_networks
    profile.allowed_networks = validate_allowed_networks(networks)
    profile.save(update_fields=["allowed_networks"])
    audit_record(
        action="settings.allowed_networks",
        target=profile,
        account_id=profile.user_id,
        changes={"allowed_networks": [before, profile.allowed_networks]},
    )
    return profile
