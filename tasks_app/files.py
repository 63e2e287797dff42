"""Files of an account (SPEC §12): stored through Django's storage API (``STORAGES["default"]``,
a ``FileSystemStorage`` under ``MEDIA_ROOT`` unless configured otherwise).

``file_upload`` stores what the client sent; ``file_import`` downloads a URL through the one
guarded outgoing session (``scalehooks.outgoing``), so that an address callbacks may not
reach (§8) cannot be fetched this way either, and at most ``FILES_MAX_BYTES`` are kept.
"""

import mimetypes
import secrets
from dataclasses import dataclass
from pathlib import PurePosixPath

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from requests_hardened.ip_filter import InvalidIPAddress

from scalehooks.outgoing import ForbiddenAddress, outgoing_session
from tasks_app.keys import Mode
from tasks_app.models import UploadedFile

CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    record: UploadedFile
    url_path: str  # the path of its attachment_url


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name or "file"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:100] or "file"


def _store(
    *, owner, mode: str, content: File, name: str, mime_type: str, project_names: list[str]
) -> UploadedFile:
    token = secrets.token_urlsafe(24)
    safe = _safe_name(name)
    storage_name = default_storage.save(f"files/{token}/{safe}", content)
    return UploadedFile.objects.create(
        owner=owner,
        is_test=mode == Mode.TEST,
        token=token,
        storage_name=storage_name,
        original_name=name[:255],
        mime_type=mime_type or mimetypes.guess_type(safe)[0] or "application/octet-stream",
        size=default_storage.size(storage_name),
        project_names=project_names,
    )


def file_upload(*, owner, mode: str, upload, project_names: list[str]) -> UploadedFile:
    """Store an uploaded file (a Django ``UploadedFile``)."""
    return _store(
        owner=owner,
        mode=mode,
        content=upload,
        name=upload.name or "file",
        mime_type=getattr(upload, "content_type", "") or "",
        project_names=project_names,
    )


def _refused(url: str, reason: str) -> ValidationError:
    return ValidationError({"file_url": [f"The file at {url} could not be imported: {reason}."]})


def file_import(*, owner, mode: str, file_url: str, project_names: list[str]) -> UploadedFile:
    """Download ``file_url`` through the guarded session and store it; a ``ValidationError`` on
    ``file_url`` for a refused address, an error answer, a network failure or a file too large."""
    limit = settings.FILES_MAX_BYTES
    try:
        response = outgoing_session().get(file_url, stream=True)
    except InvalidIPAddress:
        raise _refused(file_url, "its address is not allowed (private, loopback or reserved)") from None
    except ForbiddenAddress as exc:  # one wording whether or how the name resolved (SPEC §8)
        raise _refused(file_url, exc.public_message) from None
    except requests.Timeout:
        raise _refused(file_url, "the download timed out") from None
    except requests.RequestException as exc:
        raise _refused(file_url, f"the download failed ({type(exc).__name__})") from None
    with response:
        if not 200 <= response.status_code < 300:
            raise _refused(file_url, f"the server answered HTTP {response.status_code}")
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                body += chunk
                if len(body) > limit:
                    raise _refused(file_url, f"it is larger than {limit} bytes")
        except requests.RequestException as exc:
            raise _refused(file_url, f"the download failed ({type(exc).__name__})") from None
        mime_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    name = PurePosixPath(requests.utils.urlparse(file_url).path).name or "file"
    return _store(
        owner=owner,
        mode=mode,
        content=ContentFile(bytes(body)),
        name=name,
        mime_type=mime_type,
        project_names=project_names,
    )


def file_by_token(*, token: str) -> UploadedFile | None:
    return UploadedFile.objects.filter(token=token).first()
