"""``/v1/profile``: the account's callback settings for the key's mode."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app import accounts
from tasks_app import schema as doc
from tasks_app.representation import (
    profile_representation,
)
from tasks_app.serializers import (
    ProfileUpdateInput,
)
from tasks_app.views.common import valid


class ProfileApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.CONFIGURE)

    @extend_schema(
        operation_id="profile_get",
        summary="The account's callback settings for the key's mode",
        responses=responses(doc.ProfileOutput),
    )
    def get(self, request):
        return Response(profile_representation(request.auth.profile, mode=request.auth.mode))

    @extend_schema(
        operation_id="profile_update",
        summary="Change the default callback URL of the key's mode, or whether test tasks complete themselves",
        request=ProfileUpdateInput,
        responses=responses(doc.ProfileOutput, 400, 413),
    )
    def patch(self, request):
        profile = request.auth.profile
        data = valid(
            ProfileUpdateInput(data=request.data, context={"allowed_networks": profile.allowed_networks})
        )
        accounts.profile_update(profile=profile, mode=request.auth.mode, **data)
        return Response(profile_representation(profile, mode=request.auth.mode))


class ProfileRotateCallbackAuthKeyApi(APIView):
    """The new callback auth key of the key's mode, in the profile object."""

    policy = access.CONFIGURE

    @extend_schema(
        operation_id="profile_rotate_callback_auth_key",
        summary="A new callback auth key for the key's mode",
        request=None,
        responses=responses(doc.ProfileOutput),
    )
    def post(self, request):
        profile = request.auth.profile
        accounts.callback_auth_key_rotate(profile=profile, mode=request.auth.mode)
        return Response(profile_representation(profile, mode=request.auth.mode))


# --- operators (staff only; a 404 for everybody else) --------------------------
