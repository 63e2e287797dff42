"""HTTP Basic with the API key as user name and an empty password (SPEC §3).

This is how the official ``scaleapi`` client authenticates. ``request.auth``
is an ``ApiKeyAuth`` telling the key's mode; live and test data never mix.

With Redis (``REDIS_URL``), a key's account is read from Redis, not from the
database, once it was looked up (``KeyCache``): one round trip of a script that reads the
cache's generation and the entry of the key's hash under it. The entry holds what the API's
path reads of the profile and its user (no secret: the callback keys and signing secrets are
left out and read from the database if a view asks for them) and the user's permissions.
Any change of a profile, a user, a group or a permission (saved, deleted, a membership or a
permission added or removed: ``KeyCache.connect``) increments the generation, at once and
again when its transaction commits, so that every entry is forgotten: a rotated key, a
deactivated user or an operator taken out of the Operators group are refused or refused the
operator's routes by the next request. An entry is written under the generation read before
the database was, so a lookup that raced a change writes where nobody reads. Without Redis
(each process's own cache could not be told of another process's change) every request reads
the database.
"""

import base64
import binascii
import hmac
import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from scalehooks.limits import redis_script, shared_redis
from tasks_app.keys import Mode, hash_api_key
from tasks_app.models import Profile


@dataclass(frozen=True)
class ApiKeyAuth:
    profile: Profile
    mode: str


def _profile_for_key(key_hash: str) -> tuple[Profile, str] | None:
    """The active account whose live or test key has this hash, and the key's mode; or None."""
    profile = (
        Profile.objects.select_related("user")
        .filter(Q(live_api_key_hash=key_hash) | Q(test_api_key_hash=key_hash))
        .first()
    )
    if profile is None or not profile.user.is_active:
        return None
    live = hmac.compare_digest(profile.live_api_key_hash or "", key_hash)
    return profile, Mode.LIVE if live else Mode.TEST


def _from_db(model, values: dict):
    """An instance of ``model`` with these fields' values, the others deferred (``from_db``
    takes the values in the model's order of fields)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db("default", names, [values[name] for name in names])


class KeyCache:
    """A key's account in Redis, by the key's hash (see the module's docstring)."""

    # What an entry holds: never a secret (the callback keys and signing secrets stay out).
    PROFILE_FIELDS = (
        "id",
        "user_id",
        "live_default_callback_url",
        "test_default_callback_url",
        "allowed_networks",
        "live_api_key_prefix",
        "live_api_key_hash",
        "test_api_key_prefix",
        "test_api_key_hash",
        "test_tasks_autocomplete",
    )
    USER_FIELDS = ("id", "username", "email", "is_active", "is_staff", "is_superuser")
    TTL_S = 600
    GENERATION = "apikey-generation"
    LOOKUP = (
        "local generation = redis.call('GET', KEYS[1]) or '0' "
        "return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2]) or false}"
    )

    @classmethod
    def lookup(cls, client, key_hash: str) -> tuple[Profile, str] | None:
        generation, entry = redis_script(client, cls.LOOKUP)(
            keys=[cache.make_key(cls.GENERATION)], args=[cache.make_key("apikey:"), key_hash]
        )
        if entry is not None:
            return cls._objects(json.loads(entry))
        found = _profile_for_key(key_hash)
        if found is not None:
            profile, mode = found
            entry = {
                "mode": mode,
                "profile": {name: getattr(profile, name) for name in cls.PROFILE_FIELDS},
                "user": {name: getattr(profile.user, name) for name in cls.USER_FIELDS},
                "permissions": sorted(profile.user.get_all_permissions()),
            }
            name = cache.make_key(f"apikey:{generation.decode()}:{key_hash}")
            client.set(name, json.dumps(entry), ex=cls.TTL_S)
        return found

    @classmethod
    def _objects(cls, entry: dict) -> tuple[Profile, str]:
        """The profile and its user as the database would give them (the fields left out are
        read from it when asked for), the user's permissions known."""
        user = _from_db(get_user_model(), entry["user"])
        user._perm_cache = set(entry["permissions"])  # ModelBackend's own cache of them
        profile = _from_db(Profile, entry["profile"])
        profile.user = user
        return profile, entry["mode"]

    @classmethod
    def forget_all(cls, **_) -> None:
        """Every entry forgotten: now, and when the current transaction commits."""
        client = shared_redis()
        if client is None:
            return
        name = cache.make_key(cls.GENERATION)
        client.incr(name)
        transaction.on_commit(lambda: client.incr(name))

    @classmethod
    def connect(cls) -> None:
        """Forget every entry on any change of who a key is and what it may do."""
        user_model = get_user_model()
        for model in (Profile, user_model, Group, Permission):
            post_save.connect(cls.forget_all, sender=model, dispatch_uid=f"keycache-save-{model.__name__}")
            post_delete.connect(
                cls.forget_all, sender=model, dispatch_uid=f"keycache-delete-{model.__name__}"
            )
        for through in (
            user_model.groups.through,
            user_model.user_permissions.through,
            Group.permissions.through,
        ):
            m2m_changed.connect(
                cls.forget_all, sender=through, dispatch_uid=f"keycache-m2m-{through.__name__}"
            )


class ApiKeyAuthentication(BaseAuthentication):
    www_authenticate_realm = "ScaleHooks API"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid HTTP Basic header.")
        try:
            user_name = base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("Invalid HTTP Basic header.") from None
        key_hash = hash_api_key(user_name)
        client = shared_redis()
        found = KeyCache.lookup(client, key_hash) if client is not None else _profile_for_key(key_hash)
        if found is None:
            raise AuthenticationFailed("Invalid API key.")
        profile, mode = found
        return profile.user, ApiKeyAuth(profile=profile, mode=mode)

    def authenticate_header(self, request):
        return f'Basic realm="{self.www_authenticate_realm}"'
