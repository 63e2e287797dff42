"""A stored file's ``attachment_url`` is never active content on the service's origin (SPEC §8
"Content", issue 25 F3): uploaded and imported files are served as attachments with
``nosniff`` and ``Content-Security-Policy: sandbox``, and from ``USERCONTENT_BASE_URL`` when
an operator sets one (the main origin then only redirects there)."""

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.servers import Answer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

HTML = b"<html><body><script>document.title = 'ran'</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title = "ran"</script></svg>'
USERCONTENT = "http://usercontent.test"


def upload(customer, name: str, body: bytes, content_type: str) -> dict:
    answer = customer.post(
        "/v1/files/upload", {"file": SimpleUploadedFile(name, body, content_type)}, format="multipart"
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def fetch(url: str, **extra):
    parts = urlsplit(url)
    return Client().get(parts.path, HTTP_HOST=parts.netloc, **extra)


def assert_served_inert(answer, body: bytes) -> None:
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == body
    assert answer["Content-Disposition"].startswith("attachment")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer.get("Content-Security-Policy") == "sandbox"


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [("page.html", HTML, "text/html"), ("image.svg", SVG, "image/svg+xml")],
)
def test_an_uploaded_html_or_svg_is_served_as_an_inert_attachment(customer, name, body, content_type):
    stored = upload(customer, name, body, content_type)

    answer = fetch(stored["attachment_url"])

    assert_served_inert(answer, body)
    assert answer["Content-Disposition"] == f'attachment; filename="{name}"'


def test_an_imported_text_html_is_served_as_an_inert_attachment(customer, file_server):
    url = file_server.serve("/page.html", Answer(200, HTML, {"Content-Type": "text/html; charset=utf-8"}))

    imported = customer.post("/v1/files/import", {"file_url": url}, format="json")

    assert imported.status_code == 200, imported.content
    assert_served_inert(fetch(imported.json()["attachment_url"]), HTML)


@pytest.fixture
def usercontent(settings):
    settings.USERCONTENT_BASE_URL = USERCONTENT
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "usercontent.test"]
    return USERCONTENT


def test_with_usercontent_base_url_the_attachment_url_is_on_that_origin(customer, usercontent):
    stored = upload(customer, "page.html", HTML, "text/html")

    assert stored["attachment_url"].startswith(f"{USERCONTENT}/v1/files/content/")
    assert_served_inert(fetch(stored["attachment_url"]), HTML)


def test_with_usercontent_base_url_the_main_origin_redirects_there(customer, usercontent):
    stored = upload(customer, "page.html", HTML, "text/html")
    path = urlsplit(stored["attachment_url"]).path

    answer = Client().get(path)  # the main origin (testserver)

    assert answer.status_code == 302
    assert answer["Location"] == stored["attachment_url"]
    assert not getattr(answer, "streaming", False)
    assert HTML not in answer.content


@pytest.mark.parametrize(
    "path", ["/portal/", "/v1/tasks", "/admin/", "/metrics", "/inbox/x/", "/static/x.css"]
)
def test_the_usercontent_origin_answers_nothing_but_files(customer, usercontent, path):
    answer = Client().get(path, HTTP_HOST="usercontent.test")

    assert answer.status_code == 404
    assert answer.json()["status_code"] == 404


def test_without_usercontent_base_url_the_main_origin_serves_the_file(customer, settings):
    settings.USERCONTENT_BASE_URL = ""
    stored = upload(customer, "page.html", HTML, "text/html")

    assert stored["attachment_url"].startswith("http://testserver/v1/files/content/")
    assert_served_inert(fetch(stored["attachment_url"]), HTML)


@pytest.mark.parametrize("content_type", ["x" * 300 + "/y", "not a type", "text/plain, text/html"])
def test_an_upload_whose_content_type_is_no_media_type_is_stored_with_its_guessed_type(
    customer, content_type
):
    stored = upload(customer, "notes.txt", b"hello", content_type)

    assert stored["mime_type"] == "text/plain"
    assert fetch(stored["attachment_url"])["Content-Type"] == "text/plain"


def test_the_usercontent_host_is_added_to_the_allowed_hosts():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scalehooks.settings",
        "SECRET_KEY": "a-key-of-this-test-" * 3,
        "ALLOWED_HOSTS": "hooks.example.com",
        "USERCONTENT_BASE_URL": "https://files.example.net:8443/",
    }
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    assert shown.strip() == "['hooks.example.com', 'files.example.net']"


def test_a_usercontent_base_url_with_a_path_is_refused_at_start():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scalehooks.settings",
        "SECRET_KEY": "a-key-of-this-test-" * 3,
        "USERCONTENT_BASE_URL": "https://files.example.net/files",
    }
    started = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.ALLOWED_HOSTS"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "USERCONTENT_BASE_URL: an origin (scheme://host[:port])" in started.stderr
