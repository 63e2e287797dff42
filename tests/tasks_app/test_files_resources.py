"""File imports and uploads within an account's share (SPEC §8 "Resources", issue 25 F7):
imports capped per account and per process (a 429 with Retry-After beyond), streamed to
storage (never held whole in memory), and every account's files within
``ACCOUNT_STORAGE_QUOTA_BYTES`` with its captured inbox requests."""

import threading
import tracemalloc

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from inbox_app.services import inbox_create
from tasks_app import files
from tasks_app.models import UploadedFile
from tests.servers import Answer

MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100

pytestmark = pytest.mark.usefixtures("media_root")


def stored_files(media_root) -> list:
    return sorted(p for p in media_root.rglob("*") if p.is_file())


# --- caps on imports in progress -----------------------------------------------------------


def start_import(live_server, key: str, url: str) -> tuple[threading.Thread, list]:
    """POST /v1/files/import from a thread of its own; its answer lands in the list."""
    answers = []

    def run():
        answers.append(
            requests.post(
                f"{live_server.url}/v1/files/import", json={"file_url": url}, auth=(key, ""), timeout=30
            )
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, answers


def import_now(live_server, key: str, url: str) -> requests.Response:
    thread, answers = start_import(live_server, key, url)
    thread.join(30)
    return answers[0]


def assert_429(answer: requests.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["status_code"] == 429
    assert "import" in answer.json()["error"]
    assert int(answer.headers["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_an_accounts_second_import_while_one_runs_is_a_429(
    live_server, account, other_account, file_server, settings
):
    settings.FILES_IMPORTS_PER_ACCOUNT = 1
    settings.FILES_IMPORTS_PER_PROCESS = 4
    url = file_server.serve("/slow.png", Answer(200, PNG, {"Content-Type": "image/png"}))
    file_server.hold()

    # Given an import of the account in progress (its download held by the server)
    first, first_answers = start_import(live_server, account.live_api_key, url)
    file_server.wait_for(1)

    # When the same account (whichever key) imports again, and another account imports
    second = import_now(live_server, account.test_api_key, url)
    other, other_answers = start_import(live_server, other_account.live_api_key, url)
    file_server.wait_for(2)
    file_server.release()
    first.join(30)
    other.join(30)

    # Then the account's second import is a 429, and the others complete
    assert_429(second)
    assert [a.status_code for a in first_answers + other_answers] == [200, 200]
    assert len(file_server.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_imports_beyond_the_process_cap_are_a_429_whatever_the_account(
    live_server, account, other_account, file_server, settings
):
    settings.FILES_IMPORTS_PER_ACCOUNT = 4
    settings.FILES_IMPORTS_PER_PROCESS = 1
    url = file_server.serve("/slow.png", Answer(200, PNG, {"Content-Type": "image/png"}))
    file_server.hold()
    first, first_answers = start_import(live_server, account.live_api_key, url)
    file_server.wait_for(1)

    refused = import_now(live_server, other_account.live_api_key, url)
    file_server.release()
    first.join(30)

    assert_429(refused)
    assert first_answers[0].status_code == 200
    # the slot is given back: the next import goes
    assert import_now(live_server, other_account.live_api_key, url).status_code == 200


# --- streamed to storage ---------------------------------------------------------------------


@pytest.mark.django_db
def test_an_import_is_streamed_to_storage_never_held_whole(account, file_server, settings):
    settings.FILES_MAX_BYTES = 64 * MIB
    body = bytes(range(256)) * (64 * 1024)  # 16 MiB
    url = file_server.serve("/big.bin", Answer(200, body, {"Content-Type": "application/octet-stream"}))

    tracemalloc.start()
    try:
        record = files.file_import(owner=account.user, mode="live", file_url=url, project_names=[])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert record.size == len(body)
    assert default_storage.open(record.storage_name).read() == body
    assert peak < 4 * MIB, f"the import held {peak / MIB:.1f} MiB at once"


@pytest.mark.django_db
def test_an_import_over_files_max_bytes_leaves_nothing_in_storage(account, file_server, settings, media_root):
    settings.FILES_MAX_BYTES = MIB
    url = file_server.serve("/big.bin", Answer(200, b"x" * (3 * MIB)))

    with pytest.raises(Exception, match=f"larger than {MIB} bytes"):
        files.file_import(owner=account.user, mode="live", file_url=url, project_names=[])

    assert stored_files(media_root) == []
    assert not UploadedFile.objects.exists()


# --- the account's storage quota ---------------------------------------------------------------


def upload(client, body: bytes, name: str = "notes.txt"):
    return client.post(
        "/v1/files/upload", {"file": SimpleUploadedFile(name, body, "text/plain")}, format="multipart"
    )


@pytest.mark.django_db
def test_an_upload_beyond_the_quota_is_a_400_and_stores_nothing(
    customer, api, other_account, settings, media_root
):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 1000

    assert upload(customer, b"a" * 600).status_code == 200
    refused = upload(customer, b"b" * 600)

    assert refused.status_code == 400, refused.content
    assert "ACCOUNT_STORAGE_QUOTA_BYTES" in refused.json()["error"]
    assert UploadedFile.objects.count() == 1
    assert len(stored_files(media_root)) == 1
    # another account has its own quota
    assert upload(api.as_key(other_account.live_api_key), b"c" * 600).status_code == 200


@pytest.mark.django_db
def test_an_import_beyond_the_quota_is_a_400_and_leaves_nothing(customer, file_server, settings, media_root):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 100 * 1024
    assert upload(customer, b"a" * (60 * 1024)).status_code == 200
    url = file_server.serve("/big.bin", Answer(200, b"x" * (MIB)))

    refused = customer.post("/v1/files/import", {"file_url": url}, format="json")

    assert refused.status_code == 400, refused.content
    assert "ACCOUNT_STORAGE_QUOTA_BYTES" in refused.json()["error"]
    assert UploadedFile.objects.count() == 1
    assert len(stored_files(media_root)) == 1


@pytest.mark.django_db
def test_captured_inbox_requests_count_against_the_files_quota(customer, account, client, settings):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 2000
    inbox = inbox_create(profile=account.profile, mode="test", name="fills")
    client.post(f"/inbox/{inbox.token}/", b"x" * 1500, content_type="application/octet-stream")

    refused = upload(customer, b"a" * 600)

    assert refused.status_code == 400, refused.content
    assert "ACCOUNT_STORAGE_QUOTA_BYTES" in refused.json()["error"]
