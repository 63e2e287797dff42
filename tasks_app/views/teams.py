"""``/v1/teams``: the account's team, as the official client calls it (SPEC §12).

Invitations are pending until accepted through the link mailed to the address
(``tasks_app.invitations``); the team lists them with ``status`` "invited".
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.fields import StrictInput
from scalehooks.api.schema import responses
from tasks_app import teams
from tasks_app.models import Membership
from tasks_app.views.common import valid

MAX_EMAILS = 100
# A teammate's user name is its email: no longer than Django's user names may be.
MAX_EMAIL_LENGTH = 150

TEAMMATE = inline_serializer(
    "Teammate",
    {
        "email": serializers.CharField(),
        "role": serializers.ChoiceField(choices=Membership.Role.values),
        "firstName": serializers.CharField(allow_blank=True),
        "lastName": serializers.CharField(allow_blank=True),
        "alertEmails": serializers.BooleanField(help_text="Gets the callback target alerts by email"),
        "status": serializers.ChoiceField(
            choices=[teams.ACTIVE, teams.INVITED],
            help_text="active: the owner, or a teammate who accepted; invited: an invitation pending "
            "until the address's holder accepts it through the mailed link (48 hours)",
        ),
    },
    many=True,
)


def team_representation(team: list[teams.Teammate]) -> list[dict]:
    return [
        {
            "email": t.email,
            "role": t.role,
            "firstName": t.first_name,
            "lastName": t.last_name,
            "alertEmails": t.alert_emails,
            "status": t.status,
        }
        for t in team
    ]


class TeamChangeInput(StrictInput):
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=MAX_EMAIL_LENGTH), min_length=1, max_length=MAX_EMAILS
    )
    team_role = serializers.ChoiceField(choices=Membership.Role.choices)


class TeamsApi(APIView):
    policy = access.READ

    @extend_schema(
        operation_id="teams_list",
        summary="The account's team: the owner (admin), its teammates, then pending invitations",
        tags=["teams"],
        responses=responses(TEAMMATE),
    )
    def get(self, request):
        return Response(team_representation(teams.teammates_list(account=request.auth.profile)))


class TeamsInviteApi(APIView):
    policy = access.MANAGE_ACCOUNT

    @extend_schema(
        operation_id="teams_invite",
        summary="Invite addresses with a role (a link mailed to each, accepted there); the whole team",
        description=(
            "Each address gets a pending invitation, listed with status invited, and a one-time link "
            "mailed to it (valid 48 hours, within the account's hourly email budget): its holder "
            "becomes a teammate by accepting it. An invitation never attaches an existing user, and "
            "the answer is the same whoever holds an address. The owner and teammates are left as they are."
        ),
        tags=["teams"],
        request=TeamChangeInput,
        responses=responses(TEAMMATE, 400, 413),
    )
    def post(self, request):
        data = valid(TeamChangeInput(data=request.data))
        team = teams.teammates_invite(
            account=request.auth.profile, emails=data["emails"], role=data["team_role"]
        )
        return Response(team_representation(team))


class TeamsSetRoleApi(APIView):
    policy = access.MANAGE_ACCOUNT

    @extend_schema(
        operation_id="teams_set_role",
        summary="Change the role of teammates and pending invitations; the whole team",
        tags=["teams"],
        request=TeamChangeInput,
        responses=responses(TEAMMATE, 400, 413),
    )
    def post(self, request):
        data = valid(TeamChangeInput(data=request.data))
        team = teams.teammates_role_set(
            account=request.auth.profile, emails=data["emails"], role=data["team_role"]
        )
        return Response(team_representation(team))


class TeamAlertEmailsInput(StrictInput):
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=MAX_EMAIL_LENGTH), min_length=1, max_length=MAX_EMAILS
    )
    alert_emails = serializers.BooleanField()


class TeamsSetAlertEmailsApi(APIView):
    policy = access.MANAGE_ACCOUNT

    @extend_schema(
        operation_id="teams_set_alert_emails",
        summary="Whether teammates who accepted get the callback target alerts by email; the whole team",
        tags=["teams"],
        request=TeamAlertEmailsInput,
        responses=responses(TEAMMATE, 400, 413),
    )
    def post(self, request):
        data = valid(TeamAlertEmailsInput(data=request.data))
        team = teams.teammates_alert_emails_set(
            account=request.auth.profile, emails=data["emails"], alert_emails=data["alert_emails"]
        )
        return Response(team_representation(team))
