"""Control and format characters in the names a customer gives (SPEC §8 "Input"; issue 25 F14).

Every name (projects, batches, inboxes, tags, ``unique_id``, a file's display name, reference id
and project names) refuses the characters of Unicode categories Cc (controls: CR, LF, ESC, …),
Cf (format: bidi overrides, zero-width characters) and the line and paragraph separators (Zl,
Zp) with a 400 naming the field, and changes nothing; an uploaded file's own name arrives
without them (Django's multipart parser drops them). Metadata keys and values, instructions and
comments are data, not names: they are kept as given. A name stored before the rule (the
database may hold one) still cannot break the email that carries it.
"""

import io

import pytest
from django.db import transaction

from callbacks_app.models import Delivery
from callbacks_app.services import callback_batch_delivery_create
from inbox_app.models import Inbox
from scalehooks.api.names import control_characters
from tasks_app.models import Batch, Project, UploadedFile
from tests.conftest import deliver_until_finished
from tests.factories import EmailConfirmationFactory, TaskFactory
from tests.portal_app.conftest import signed_in
from tests.security.conftest import database_state

pytestmark = pytest.mark.django_db

CREATE = "/v1/task/categorization"
VALID = {"attachment": "tomato", "categories": ["red", "blue"]}

# One of each kind the rule refuses.
BAD = {
    "CR LF": "weekly\r\nBcc: someone@example.com",
    "ESC": "weekly\x1b[31m",
    "DEL": "weekly\x7f",
    "right-to-left override": "invoice\u202egnp.exe",
    "zero-width space": "week\u200bly",
    "byte order mark": "\ufeffweekly",
    "line separator": "weekly\u2028done",
}


def json_routes(value: str) -> list[tuple[str, str, str, object, str]]:
    """(method, path, field, body, field named in details) of every JSON route taking a name."""
    return [
        ("post", "/v1/projects", "name", {"type": "categorization", "name": value}, "name"),
        ("post", "/v1/batches", "name", {"project": "streets", "name": value}, "name"),
        ("post", CREATE, "tags", {**VALID, "tags": ["ok", value]}, "tags"),
        ("post", CREATE, "unique_id", {**VALID, "unique_id": value}, "unique_id"),
        ("post", "/v1/task/{id}/tags", "tags", [value], "tags"),
        ("put", "/v1/task/{id}/tags", "tags", [value], "tags"),
        ("post", "/v1/task/{id}/unique_id", "unique_id", {"unique_id": value}, "unique_id"),
        ("post", "/v1/inboxes", "name", {"name": value}, "name"),
        (
            "post",
            "/v1/files/import",
            "project_name",
            {"file_url": "http://127.0.0.1:9/a", "project_name": value},
            "project_name",
        ),
        (
            "post",
            "/v1/files/import",
            "display_name",
            {"file_url": "http://127.0.0.1:9/a", "display_name": value},
            "display_name",
        ),
    ]


@pytest.fixture
def project_and_task(customer, account):
    assert (
        customer.post(
            "/v1/projects", {"type": "categorization", "name": "streets"}, format="json"
        ).status_code
        == 200
    )
    return TaskFactory(owner=account.user)


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize(
    "route", range(len(json_routes(""))), ids=[f"{r[0]} {r[1]} {r[2]}" for r in json_routes("")]
)
def test_a_name_with_a_control_or_format_character_is_a_400_naming_the_field(
    customer, project_and_task, kind, route
):
    method, path, _, body, field = json_routes(BAD[kind])[route]
    before = database_state()

    answer = getattr(customer, method)(path.format(id=project_and_task.id), body, format="json")

    assert answer.status_code == 400, answer.content[:500]
    error = answer.json()
    assert error["status_code"] == 400
    assert field in error["details"], error
    assert "control or format character" in str(error["details"][field]), error
    assert database_state() == before


@pytest.mark.parametrize("kind", list(BAD))
def test_an_uploaded_files_name_keeps_no_control_or_format_character(customer, kind, settings, tmp_path):
    """Django's multipart parser drops non-printable characters from a file's name before any view
    sees it: the name kept (and shown) holds none."""
    settings.MEDIA_ROOT = str(tmp_path)
    upload = io.BytesIO(b"pixels")
    upload.name = f"{BAD[kind]}.png"

    answer = customer.post("/v1/files/upload", {"file": upload}, format="multipart")

    assert answer.status_code == 200, answer.content[:500]
    (stored,) = UploadedFile.objects.all()
    assert control_characters(stored.original_name) == []


def test_a_name_with_ordinary_unicode_is_accepted(customer, project_and_task):
    # Accents, CJK, emoji, spaces and a tab-free punctuation mix are names; only controls are refused.
    for name in ("Réseau 東京 🚦", "a/b%2F", "x-y_z.1"):
        answer = customer.post("/v1/batches", {"project": "streets", "name": name}, format="json")
        assert answer.status_code == 200, answer.content[:500]


def test_metadata_keeps_control_characters_as_data(customer, project_and_task):
    answer = customer.post(
        f"/v1/task/{project_and_task.id}/setMetadata", {"note\u200b": "line\r\nbreak"}, format="json"
    )

    assert answer.status_code == 200, answer.content[:500]
    assert answer.json()["metadata"] == {"note\u200b": "line\r\nbreak"}


def test_the_portal_refuses_an_inbox_name_with_a_control_character(client, account):
    portal = signed_in(client, user=account.user, account=account.profile, mode="test")

    answer = portal.post("/portal/inboxes/create", {"name": "bin\u202eexe.txt"}, follow=True)

    assert "control or format character" in answer.content.decode()
    assert not Inbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_email_subject_stays_one_line_whatever_the_stored_name(account, smtp_server):
    """A name stored before the rule: its callback email is still sent, with a one-line subject."""
    EmailConfirmationFactory(owner=account.user, address="results@customer.example")
    project = Project.objects.create(owner=account.user, name="streets", type="categorization")
    batch = Batch.objects.create(
        owner=account.user,
        project=project,
        name="weekly\r\nBcc: someone@example.com\u202e",
        callback="results@customer.example",
        status=Batch.Status.COMPLETED,
    )
    with transaction.atomic():
        delivery = callback_batch_delivery_create(
            batch=batch, counts={"pending": 0, "completed": 0, "error": 0, "canceled": 0}
        )

    delivery = deliver_until_finished(delivery.id)

    assert delivery.status == Delivery.Status.SUCCEEDED, delivery.attempts.last().error
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["results@customer.example"]
    subject = str(received.message["Subject"]).strip()
    assert subject.startswith("Batch weekly") and subject.endswith("completed")
    assert not any(c in subject for c in "\r\n\u202e")
