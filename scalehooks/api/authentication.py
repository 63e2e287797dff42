"""HTTP Basic with the API key as user name and an empty password (SPEC §3).

This is how the official ``scaleapi`` client authenticates. ``request.auth``
is an ``ApiKeyAuth`` telling the key's mode; live and test data never mix.
"""

import base64
import binascii
import hmac
from dataclasses import dataclass

from django.db.models import Q
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from tasks_app.keys import Mode, hash_api_key
from tasks_app.models import Profile


@dataclass(frozen=True)
class ApiKeyAuth:
    profile: Profile
    mode: str


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
        profile = (
            Profile.objects.select_related("user")
            .filter(Q(live_api_key_hash=key_hash) | Q(test_api_key_hash=key_hash))
            .first()
        )
        if profile is None or not profile.user.is_active:
            raise AuthenticationFailed("Invalid API key.")
        live = hmac.compare_digest(profile.live_api_key_hash or "", key_hash)
        return profile.user, ApiKeyAuth(profile=profile, mode=Mode.LIVE if live else Mode.TEST)

    def authenticate_header(self, request):
        return f'Basic realm="{self.www_authenticate_realm}"'
