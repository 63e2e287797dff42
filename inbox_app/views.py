"""``/v1/inboxes``: the callback inbox's API (SPEC §15). Thin views over services and selectors.

Every inbox is looked up through ``selectors.inbox_get`` with the key's account
and mode: another account's inbox, or one of the other mode, is a 404.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox_app import selectors, services
from inbox_app.serializers import (
    CapturedRequestOutput,
    InboxCreateInput,
    InboxOutput,
    RequestsQuery,
    ScriptInput,
)
from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app.views.common import valid

INBOX_ID = OpenApiParameter("inbox_id", str, OpenApiParameter.PATH, description="The inbox's id (inb_…).")
INBOX_LIST = inline_serializer("InboxList", {"inboxes": InboxOutput(many=True)})
INBOX_REQUESTS = inline_serializer("InboxRequests", {"requests": CapturedRequestOutput(many=True)})
DELETED = inline_serializer(
    "InboxDeleted", {"id": serializers.CharField(), "deleted": serializers.BooleanField()}
)
CLEARED = inline_serializer(
    "InboxRequestsCleared", {"id": serializers.CharField(), "deleted_requests": serializers.IntegerField()}
)


def own_inbox(request, inbox_id: str):
    return selectors.inbox_get(profile=request.auth.profile, mode=request.auth.mode, inbox_id=inbox_id)


class InboxesApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="inboxes_list",
        summary="The key's inboxes (its account and mode), newest first",
        tags=["inboxes"],
        responses=responses(INBOX_LIST),
    )
    def get(self, request):
        inboxes = selectors.inboxes_of(profile=request.auth.profile, mode=request.auth.mode)
        return Response({"inboxes": InboxOutput(inboxes, many=True).data})

    @extend_schema(
        operation_id="inboxes_create",
        summary="Create an inbox: a URL that captures every request sent to it",
        tags=["inboxes"],
        request=InboxCreateInput,
        responses=responses(InboxOutput, 400, 413),
    )
    def post(self, request):
        data = valid(InboxCreateInput(data=request.data))
        inbox = services.inbox_create(profile=request.auth.profile, mode=request.auth.mode, name=data["name"])
        return Response(InboxOutput(inbox).data)


class InboxApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="inboxes_get",
        summary="One inbox",
        tags=["inboxes"],
        parameters=[INBOX_ID],
        responses=responses(InboxOutput, 404),
    )
    def get(self, request, inbox_id):
        return Response(InboxOutput(own_inbox(request, inbox_id)).data)

    @extend_schema(
        operation_id="inboxes_update",
        summary="Rename the inbox or set its script (its answers); the sequence starts again",
        tags=["inboxes"],
        parameters=[INBOX_ID],
        request=ScriptInput,
        responses=responses(InboxOutput, 400, 404, 413),
    )
    def patch(self, request, inbox_id):
        inbox = own_inbox(request, inbox_id)
        data = dict(valid(ScriptInput(data=request.data)))
        name = data.pop("name", None)
        if name is not None:
            inbox = services.inbox_rename(inbox=inbox, name=name)
        if data:
            inbox = services.inbox_update_script(inbox=inbox, **data)
        return Response(InboxOutput(inbox).data)

    @extend_schema(
        operation_id="inboxes_delete",
        summary="Delete the inbox and what it captured (its URL is a 404 from then on)",
        tags=["inboxes"],
        parameters=[INBOX_ID],
        responses=responses(DELETED, 404),
    )
    def delete(self, request, inbox_id):
        inbox = own_inbox(request, inbox_id)
        services.inbox_delete(inbox=inbox)
        return Response({"id": inbox_id, "deleted": True})


class InboxRequestsApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="inboxes_requests",
        summary="The requests the inbox captured, newest first, each with its verification",
        tags=["inboxes"],
        parameters=[INBOX_ID, RequestsQuery],
        responses=responses(INBOX_REQUESTS, 400, 404),
    )
    def get(self, request, inbox_id):
        inbox = own_inbox(request, inbox_id)
        query = valid(RequestsQuery(data=request.query_params))
        rows = selectors.inbox_requests(inbox=inbox, limit=query["limit"], before=query.get("before"))
        return Response({"requests": CapturedRequestOutput(rows, many=True).data})

    @extend_schema(
        operation_id="inboxes_requests_clear",
        summary="Forget every request the inbox captured",
        tags=["inboxes"],
        parameters=[INBOX_ID],
        responses=responses(CLEARED, 404),
    )
    def delete(self, request, inbox_id):
        inbox = own_inbox(request, inbox_id)
        return Response({"id": inbox.id, "deleted_requests": services.inbox_requests_clear(inbox=inbox)})
