"""``POST /v1/portal/sessions``: a one-time portal link for the API key's account and side."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal_app.links import account_member, portal_link_create
from scalehooks import access
from scalehooks.api.fields import StrictCharField, TimestampField
from scalehooks.api.schema import responses
from scalehooks.timestamps import format_timestamp
from tasks_app.keys import Mode

PortalSessionOutput = inline_serializer(
    "PortalSession",
    {
        "url": serializers.URLField(help_text="Opens the portal once, on the key's side, within 15 minutes."),
        "expires_at": TimestampField(),
    },
)


class PortalSessionInput(serializers.Serializer):
    email = StrictCharField(
        required=False,
        max_length=254,
        help_text="Whom the link signs in: a teammate of the account (default: its owner).",
    )


class PortalSessionsApi(APIView):
    policy = access.READ

    @extend_schema(
        operation_id="portal_session_create",
        summary="A one-time sign-in link to the portal (valid 15 minutes, the key's side)",
        request=PortalSessionInput,
        responses=responses(PortalSessionOutput, 400),
    )
    def post(self, request):
        profile = request.auth.profile
        given = PortalSessionInput(data=request.data)
        given.is_valid(raise_exception=True)  # a 400 in the API's error shape
        data = given.validated_data
        user = account_member(account=profile, email=data["email"]) if data.get("email") else profile.user
        mode = request.auth.mode
        key_hash = profile.live_api_key_hash if mode == Mode.LIVE else profile.test_api_key_hash
        link = portal_link_create(user=user, account=profile, mode=mode, key_hash=key_hash)
        return Response(
            {"url": request.build_absolute_uri(link.path), "expires_at": format_timestamp(link.expires_at)}
        )
