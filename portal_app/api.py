"""``POST /v1/portal/sessions``: a one-time portal link for the API key's account and side."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal_app.links import portal_link_create
from scalehooks.api.fields import TimestampField
from scalehooks.api.schema import responses
from scalehooks.timestamps import format_timestamp

PortalSessionOutput = inline_serializer(
    "PortalSession",
    {
        "url": serializers.URLField(help_text="Opens the portal once, on the key's side, within 15 minutes."),
        "expires_at": TimestampField(),
    },
)


class PortalSessionsApi(APIView):
    @extend_schema(
        operation_id="portal_session_create",
        summary="A one-time sign-in link to the portal (valid 15 minutes, the key's side)",
        request=None,
        responses=responses(PortalSessionOutput),
    )
    def post(self, request):
        profile = request.auth.profile
        link = portal_link_create(user=profile.user, account=profile, mode=request.auth.mode)
        return Response(
            {"url": request.build_absolute_uri(link.path), "expires_at": format_timestamp(link.expires_at)}
        )
