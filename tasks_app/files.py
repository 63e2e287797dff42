"""Files of an account (SPEC §12): stored through Django's storage API (``STORAGES["default"]``,
a ``FileSystemStorage`` under ``MEDIA_ROOT`` unless configured otherwise).

``file_upload`` stores what the client sent; ``file_import`` downloads a URL through the one
guarded outgoing session (``scalehooks.outgoing``), so that an address callbacks may not
reach (§8) cannot be fetched this way either, and at most ``FILES_MAX_BYTES`` are kept.

Within an account's share (SPEC §8 "Resources"):

- an import holds a web thread while it downloads (at most the outgoing session's time
  limit): at most ``FILES_IMPORTS_PER_ACCOUNT`` imports of one account run at once (counted
  in the cache, so across web processes when it is Redis) and ``FILES_IMPORTS_PER_PROCESS``
  in one process, whatever the account; beyond, ``RateLimited`` (a 429 with ``Retry-After``);
- a download goes to the storage chunk by chunk as it arrives (``_Download``), never whole
  in memory; one refused on the way (too large, cut off) leaves nothing stored;
- files count against ``ACCOUNT_STORAGE_QUOTA_BYTES`` with the account's captured inbox
  requests (``scalehooks.quota``; this module registers the files' counter, ``files_bytes``):
  an upload or an import that does not fit is refused (a ``ValidationError``: 400).
"""

import io
import math
import mimetypes
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db.models import Sum
from requests_hardened.ip_filter import InvalidIPAddress

from scalehooks.errors import RateLimited
from scalehooks.limits import CacheSlots, ProcessSlots
from scalehooks.outgoing import ForbiddenAddress, default_timeout, outgoing_session
from scalehooks.quota import quota_said, storage
from tasks_app.keys import Mode
from tasks_app.models import UploadedFile

CHUNK_SIZE = 64 * 1024
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


@dataclass(frozen=True)
class StoredFile:
    record: UploadedFile
    url_path: str  # the path of its attachment_url


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name or "file"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[:100] or "file"


def _media_type(given: str, *, name: str) -> str:
    """The file's media type: ``given`` (a client's or a server's ``Content-Type``, parameters
    dropped) when it is one, else the type its name suggests, else ``application/octet-stream``."""
    media_type = (given or "").split(";")[0].strip().lower()
    if _MEDIA_TYPE.fullmatch(media_type):
        return media_type
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _store(
    *, owner, mode: str, content: File, name: str, mime_type: str, project_names: list[str]
) -> UploadedFile:
    """Save ``content`` (read chunk by chunk) under a fresh token; whatever it stored is
    deleted when the save fails on the way (a download refused or cut off)."""
    token = secrets.token_urlsafe(24)
    safe = _safe_name(name)
    path = f"files/{token}/{safe}"  # the token is new: no file has this name yet
    try:
        storage_name = default_storage.save(path, content)
    except BaseException:
        default_storage.delete(path)
        raise
    return UploadedFile.objects.create(
        owner=owner,
        is_test=mode == Mode.TEST,
        token=token,
        storage_name=storage_name,
        original_name=name[:255],
        mime_type=_media_type(mime_type, name=safe),
        size=default_storage.size(storage_name),
        project_names=project_names,
    )


def files_bytes(owner_id: int) -> int:
    """Bytes of the account's stored files (its count in ``scalehooks.quota``)."""
    return UploadedFile.objects.filter(owner_id=owner_id).aggregate(total=Sum("size"))["total"] or 0


def _over_quota(field: str, room: int) -> ValidationError:
    return ValidationError(
        {
            field: [
                f"The file does not fit in the account's storage quota ({quota_said()}): {room} bytes are left."
            ]
        }
    )


def file_upload(*, owner, mode: str, upload, project_names: list[str]) -> UploadedFile:
    """Store an uploaded file (a Django ``UploadedFile``), if it fits in the account's quota."""
    room = storage.room(owner_id=owner.pk)
    if upload.size > room:
        raise _over_quota("file", room)
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


# Imports in progress: per account in the cache (every process that shares it), and in this process.
imports_of_accounts = CacheSlots("files-import")
imports_here = ProcessSlots()


@contextmanager
def _import_slot(owner_id: int):
    """A place among the imports of this process and of the account, or ``RateLimited``."""
    connect, total = default_timeout()
    longest = math.ceil(connect + total)  # an import holds its place at most about this long
    with imports_here.taken(size=settings.FILES_IMPORTS_PER_PROCESS) as here:
        if not here:
            raise RateLimited(
                f"Too many file imports at once on this server (FILES_IMPORTS_PER_PROCESS): "
                f"try again in {longest} s.",
                retry_after=longest,
            )
        size = settings.FILES_IMPORTS_PER_ACCOUNT
        with imports_of_accounts.taken(str(owner_id), size=size, hold_s=2 * longest + 60) as mine:
            if not mine:
                raise RateLimited(
                    f"At most {size} file imports of an account run at once (FILES_IMPORTS_PER_ACCOUNT): "
                    f"try again in {longest} s.",
                    retry_after=longest,
                )
            yield


class _TooLarge(Exception):
    pass


class _Download(io.RawIOBase):
    """An answer's body as a file the storage reads chunk by chunk, as it arrives; past
    ``limit`` bytes the read fails (``_TooLarge``)."""

    def __init__(self, response, *, limit: int):
        self._chunks = response.iter_content(chunk_size=CHUNK_SIZE)
        self._pending = memoryview(b"")
        self._limit = limit
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.received += len(chunk)
            if self.received > self._limit:
                raise _TooLarge
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _declared_size(response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def file_import(*, owner, mode: str, file_url: str, project_names: list[str]) -> UploadedFile:
    """Download ``file_url`` through the guarded session, streaming it to the storage; a
    ``ValidationError`` on ``file_url`` for a refused address, an error answer, a network
    failure, a file too large or one over the account's quota; ``RateLimited`` beyond the
    imports allowed at once."""
    with _import_slot(owner.pk):
        room = storage.room(owner_id=owner.pk)
        limit = min(settings.FILES_MAX_BYTES, room)

        def too_large() -> ValidationError:
            if limit < settings.FILES_MAX_BYTES:
                return _over_quota("file_url", room)
            return _refused(file_url, f"it is larger than {settings.FILES_MAX_BYTES} bytes")

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
            if (_declared_size(response) or 0) > limit:
                raise too_large()
            name = PurePosixPath(requests.utils.urlparse(file_url).path).name or "file"
            download = _Download(response, limit=limit)
            try:
                return _store(
                    owner=owner,
                    mode=mode,
                    content=File(io.BufferedReader(download, CHUNK_SIZE), name=_safe_name(name)),
                    name=name,
                    mime_type=response.headers.get("Content-Type", ""),
                    project_names=project_names,
                )
            except _TooLarge:
                raise too_large() from None
            except requests.RequestException as exc:
                raise _refused(file_url, f"the download failed ({type(exc).__name__})") from None


def stored_name(record: UploadedFile) -> str:
    """The last part of the file's storage name: the name its URL ends with."""
    return record.storage_name.rsplit("/", 1)[-1]


def content_path(record: UploadedFile) -> str:
    """The path of the file's ``attachment_url`` (the token is the secret)."""
    return f"/v1/files/content/{record.token}/{stored_name(record)}"


def file_by_token(*, token: str) -> UploadedFile | None:
    return UploadedFile.objects.filter(token=token).first()
