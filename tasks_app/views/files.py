"""``/v1/files/upload`` and ``/v1/files/import`` (SPEC §12), and the ``attachment_url`` of a
stored file, ``/v1/files/content/{token}/{name}``: readable without a key (the token is the
secret, like Scale's signed URLs), so that a task's attachment download can fetch it.

A file is never active content on the service's origin (SPEC §8 "Content"): it is served as
an attachment with ``nosniff`` and ``Content-Security-Policy: sandbox``, whatever its type,
and from ``USERCONTENT_BASE_URL`` when one is set (``scalehooks.usercontent``: the main
origin then answers the route with a redirect there)."""

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.fields import NameField
from scalehooks.api.names import refuse_control_characters
from scalehooks.api.schema import responses
from scalehooks.errors import NotFound
from scalehooks.timestamps import format_timestamp
from scalehooks.usercontent import INERT_HEADERS, on_usercontent_origin, usercontent_base_url
from tasks_app import files
from tasks_app.views.common import valid

CONTENT_WHY = "a stored file's attachment_url: its 192-bit token is the secret, as Scale's signed URLs"

FILE = inline_serializer(
    "File",
    {
        "id": serializers.CharField(),
        "attachment_url": serializers.CharField(),
        "created_at": serializers.CharField(),
        "mime_type": serializers.CharField(),
        "size": serializers.IntegerField(),
        "project_names": serializers.ListField(child=serializers.CharField()),
    },
)


def attachment_url(request, record) -> str:
    """The file's URL: on the user-content origin when there is one, else on this one."""
    path = files.content_path(record)
    base = usercontent_base_url()
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def file_representation(request, record) -> dict:
    return {
        "id": record.id,
        "attachment_url": attachment_url(request, record),
        "created_at": format_timestamp(record.created_at),
        "mime_type": record.mime_type,
        "size": record.size,
        "project_names": record.project_names,
    }


def _project_names(data) -> list[str]:
    """``project_name`` (one) or ``project_names`` (several), as the client's kwargs give them."""
    names = data.getlist("project_names") if hasattr(data, "getlist") else data.get("project_names") or []
    if isinstance(names, str):
        names = [names]
    one = data.get("project_name")
    return [str(n) for n in ([one] if one else []) + list(names)]


def _name(**kwargs) -> serializers.CharField:
    """A name of a multipart form (``NameField`` is the JSON one): no control or format character."""
    return serializers.CharField(max_length=255, validators=[refuse_control_characters], **kwargs)


class FileUploadInput(serializers.Serializer):
    file = serializers.FileField()
    project_name = _name(required=False)
    project_names = serializers.ListField(child=_name(), required=False)
    display_name = _name(required=False)
    reference_id = _name(required=False)


class FileImportInput(serializers.Serializer):
    file_url = serializers.URLField(max_length=2048)
    project_name = NameField(max_length=255, required=False)
    project_names = serializers.ListField(child=NameField(max_length=255), required=False)
    display_name = NameField(max_length=255, required=False)
    reference_id = NameField(max_length=255, required=False)


class FileUploadApi(APIView):
    policy = access.OPERATE
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="files_upload",
        summary="Store a file (multipart `file`); its attachment_url may be a task's attachment",
        tags=["files"],
        request={"multipart/form-data": FileUploadInput},
        responses=responses(FILE, 400, 413),
    )
    def post(self, request):
        data = valid(FileUploadInput(data=request.data))
        record = files.file_upload(
            owner=request.user,
            mode=request.auth.mode,
            upload=data["file"],
            project_names=_project_names(request.data),
        )
        return Response(file_representation(request, record))


class FileImportApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="files_import",
        summary="Download a file from a URL (through the guarded client) and store it",
        tags=["files"],
        request=FileImportInput,
        responses=responses(FILE, 400, 413),
    )
    def post(self, request):
        data = valid(FileImportInput(data=request.data))
        record = files.file_import(
            owner=request.user,
            mode=request.auth.mode,
            file_url=data["file_url"],
            project_names=_project_names(data),
        )
        return Response(file_representation(request, record))


class FileContentApi(APIView):
    policy = access.public(CONTENT_WHY)
    authentication_classes = []
    throttle_classes = []

    @extend_schema(exclude=True)
    def get(self, request, token, name):
        base = usercontent_base_url()
        if base and not on_usercontent_origin(request):
            return HttpResponseRedirect(f"{base}{request.path}")
        record = files.file_by_token(token=token)
        if record is None or files.stored_name(record) != name:
            raise NotFound("No such file.")
        response = FileResponse(
            default_storage.open(record.storage_name, "rb"),
            as_attachment=True,
            filename=name,
            content_type=record.mime_type,
        )
        for header, value in INERT_HEADERS.items():
            response[header] = value
        return response
