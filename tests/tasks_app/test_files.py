"""Files (SPEC §12) through the official ``scaleapi`` client against a live server: an upload
stored through Django's storage API whose ``attachment_url`` a task can use, and an import
through the guarded outgoing client."""

import io

import pytest
from django.core.files.storage import default_storage
from scaleapi.exceptions import ScaleInvalidRequest
from scaleapi.tasks import TaskType

from tasks_app import services
from tasks_app.models import Task, UploadedFile
from tests.servers import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media_root")]

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


def test_upload_file_returns_an_attachment_url_a_task_can_use(scale, media_root):
    uploaded = scale.upload_file(io.BytesIO(PNG), project_name="streets")

    record = UploadedFile.objects.get(id=uploaded.id)
    assert uploaded.as_dict()["size"] == len(PNG)
    assert uploaded.as_dict()["project_names"] == ["streets"]
    assert default_storage.open(record.storage_name).read() == PNG
    assert (media_root / record.storage_name).is_file()  # FileSystemStorage under MEDIA_ROOT
    task = scale.create_task(
        TaskType.ImageAnnotation,
        attachment=uploaded.attachment_url,
        geometries={"box": {"objects_to_annotate": ["car"]}},
    )
    # the background download of the attachment succeeds: the task stays pending
    assert services.task_attachments_check(task_id=task.id) is None
    assert Task.objects.get(id=task.id).status == "pending"


def test_the_attachment_url_serves_the_file_and_a_wrong_token_is_a_404(scale, live_server):
    import requests

    uploaded = scale.upload_file(io.BytesIO(PNG))

    assert requests.get(uploaded.attachment_url, timeout=5).content == PNG
    wrong = uploaded.attachment_url.replace("/content/", "/content/x")
    assert requests.get(wrong, timeout=5).status_code == 404


def test_import_file_downloads_through_the_guarded_client(scale, file_server):
    file_server.serve("/street.png", Answer(200, PNG, {"Content-Type": "image/png"}))

    imported = scale.import_file(file_server.url("/street.png"), project_name="streets")

    record = UploadedFile.objects.get(id=imported.id)
    assert default_storage.open(record.storage_name).read() == PNG
    assert imported.as_dict()["mime_type"] == "image/png"
    assert file_server.requests[-1].header("user-agent").startswith("ScaleHooks/")


def test_import_of_an_address_the_guard_refuses_is_a_400_saying_so(scale, settings):
    settings.CALLBACK_ALLOWED_NETWORKS = []

    with pytest.raises(ScaleInvalidRequest, match=r"127\.0\.0\.1 is a forbidden address"):
        scale.import_file("http://127.0.0.1:9/secret")
    with pytest.raises(ScaleInvalidRequest, match=r"169\.254\.169\.254 is a forbidden address"):
        scale.import_file("http://169.254.169.254/latest/meta-data/")

    assert not UploadedFile.objects.exists()


def test_import_of_a_missing_file_is_a_400_with_its_status(scale, file_server):
    with pytest.raises(ScaleInvalidRequest, match="HTTP 404"):
        scale.import_file(file_server.url("/nothing.png"))


def test_import_larger_than_files_max_bytes_is_a_400(scale, file_server, settings):
    settings.FILES_MAX_BYTES = 100
    file_server.serve("/big.bin", Answer(200, b"x" * 1000))

    with pytest.raises(ScaleInvalidRequest, match="larger than 100 bytes"):
        scale.import_file(file_server.url("/big.bin"))
    assert not UploadedFile.objects.exists()
