"""A catalogue of bad inputs (SPEC §4, §8): each is a 4xx with the {status_code, error}
shape, and leaves the database as it was — on SQLite and on PostgreSQL alike
(PostgreSQL refuses NUL characters that SQLite stores: both must answer 400).
"""

import base64
import json
from dataclasses import dataclass, field

import pytest
import requests
from rest_framework import serializers

from tasks_app import services
from tasks_app.keys import Mode
from tasks_app.models import Task
from tasks_app.serializers import task_create_body, validate_metadata
from tests.security.conftest import database_state

pytestmark = pytest.mark.django_db

CREATE = "/v1/task/categorization"
VALID = {"attachment": "tomato", "categories": ["red", "blue"]}


def body(value) -> bytes:
    return json.dumps(value).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Bad:
    name: str
    path: str  # "{id}": the customer's pending task ("{completed}": a completed one)
    raw: bytes
    method: str = "post"
    status: int = 400
    operator: bool = False
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"


CATALOGUE = [
    # malformed JSON and bodies that are not an object
    Bad("truncated JSON", CREATE, b'{"attachment": '),
    Bad("trailing garbage", CREATE, body(VALID) + b" x"),
    Bad("NaN", CREATE, b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"x": NaN}}'),
    Bad("empty body", CREATE, b""),
    *[
        Bad(f"create body {kind}", CREATE, raw)
        for kind, raw in [("list", b"[]"), ("string", b'"text"'), ("null", b"null"), ("number", b"42")]
    ],
    *[
        Bad(f"audit body {kind}", "/v1/task/{completed}/audit", raw)
        for kind, raw in [("list", b"[]"), ("string", b'"text"'), ("null", b"null")]
    ],
    *[
        Bad(f"setMetadata body {kind}", "/v1/task/{id}/setMetadata", raw)
        for kind, raw in [("list", b"[]"), ("string", b'"text"'), ("null", b"null")]
    ],
    *[
        Bad(f"tags body {kind}", "/v1/task/{id}/tags", raw)
        for kind, raw in [("string", b'"text"'), ("null", b"null"), ("number", b"1")]
    ],
    *[
        Bad(f"profile body {kind}", "/v1/profile", raw, method="patch")
        for kind, raw in [("list", b"[]"), ("string", b'"text"'), ("null", b"null")]
    ],
    Bad("unique_id body list", "/v1/task/{id}/unique_id", b"[]"),
    Bad("ops complete body null", "/v1/ops/task/{id}/complete", b"null", operator=True),
    # numbers JSON allows that become infinity (the database's JSON check refuses them)
    Bad("metadata 1e999", CREATE, b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"n": 1e999}}'),
    Bad(
        "metadata -1e999", CREATE, b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"n": -1e999}}'
    ),
    Bad("setMetadata 1e999", "/v1/task/{id}/setMetadata", b'{"n": [1, 1e999]}'),
    Bad(
        "params 1e999",
        "/v1/task/imageannotation",
        b'{"attachment": "https://example.com/a.png", "geometries": {"box": {"objects_to_annotate": ["car"],'
        b' "min_width": 1e999}}}',
    ),
    Bad(
        "ops complete 1e999",
        "/v1/ops/task/{image}/complete",
        b'{"response": {"annotations": [{"type": "box", "left": 1e999}]}}',
        operator=True,
    ),
    # not JSON at all
    Bad(
        "form encoded", CREATE, b"attachment=a", content_type="application/x-www-form-urlencoded", status=415
    ),
    # invalid text
    Bad("bytes that are not UTF-8", CREATE, b'{"attachment": "\xff\xfe", "categories": ["a", "b"]}'),
    Bad("lone surrogate", CREATE, b'{"attachment": "\\ud800", "categories": ["a", "b"]}'),
    Bad(
        "lone surrogate in metadata key",
        CREATE,
        b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"\\udfff": 1}}',
    ),
    Bad("NUL in a text field", CREATE, body({**VALID, "instruction": "a\u0000b"})),
    Bad("NUL in metadata value", CREATE, body({**VALID, "metadata": {"k": "a\u0000b"}})),
    Bad("NUL in metadata key", "/v1/task/{id}/setMetadata", body({"a\u0000": 1})),
    Bad("NUL in unique_id", "/v1/task/{id}/unique_id", body({"unique_id": "\u0000"})),
    Bad("NUL in a tag", "/v1/task/{id}/tags", body(["a\u0000"]), method="put"),
    Bad(
        "NUL in an operator response",
        "/v1/ops/task/{id}/complete",
        body({"response": {"category": "red\u0000"}}),
        operator=True,
    ),
    Bad(
        "NUL in the profile callback URL",
        "/v1/profile",
        body({"default_callback_url": "https://a.example/\u0000"}),
        method="patch",
    ),
    # sizes and depths
    Bad(
        "body over API_MAX_BODY_BYTES",
        CREATE,
        body({**VALID, "instruction": "x" * (1024 * 1024 + 1)}),
        status=413,
    ),
    Bad("10,000 tags on create", CREATE, body({**VALID, "tags": [f"t{i}" for i in range(10_000)]})),
    Bad("10,000 tags set", "/v1/task/{id}/tags", body([f"t{i}" for i in range(10_000)])),
    Bad(
        "metadata nested 10,000 levels",
        CREATE,
        b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"x": ' + nested(10_000).encode() + b"}}",
    ),
    Bad(
        "setMetadata nested 10,000 levels",
        "/v1/task/{id}/setMetadata",
        b'{"x": ' + nested(10_000).encode() + b"}",
    ),
    Bad("metadata nested 40 levels", "/v1/task/{id}/setMetadata", b'{"x": ' + nested(40).encode() + b"}"),
    Bad("metadata over 64 KiB", CREATE, body({**VALID, "metadata": {"x": "y" * 70_000}})),
    Bad("setMetadata over 64 KiB", "/v1/task/{id}/setMetadata", body({"x": "y" * 70_000})),
    Bad(
        "params nested 10,000 levels",
        CREATE,
        b'{"attachment": "a", "categories": ' + nested(10_000).encode() + b"}",
    ),
    # unknown fields
    Bad("unknown field on create", CREATE, body({**VALID, "colour": "red"})),
    Bad("unknown field on audit", "/v1/task/{completed}/audit", body({"accepted": True, "accept": True})),
    Bad("unknown field on unique_id", "/v1/task/{id}/unique_id", body({"unique_id": "a", "uniqueid": "a"})),
    Bad("unknown field on tags object", "/v1/task/{id}/tags", body({"tags": ["a"], "extra": 1})),
    Bad(
        "unknown field on profile",
        "/v1/profile",
        body({"default_callback_url": "", "signing_secret": "x"}),
        method="patch",
    ),
    Bad(
        "unknown field on ops error",
        "/v1/ops/task/{id}/error",
        body({"error": "x", "code": 1}),
        operator=True,
    ),
    Bad(
        "unknown field on ops complete",
        "/v1/ops/task/{id}/complete",
        body({"response": {"category": "red"}, "note": 1}),
        operator=True,
    ),
    # wrong types, field by field
    *[
        Bad(f"create {name}: {value!r}", CREATE, body({**VALID, name: value}))
        for name, value in [
            ("instruction", 1),
            ("instruction", ["x"]),
            ("callback_url", []),
            ("callback_url", 5),
            ("metadata", []),
            ("metadata", "x"),
            ("unique_id", 5),
            ("unique_id", {}),
            ("tags", "a"),
            ("tags", [1]),
            ("tags", [["a"]]),
            ("project", {}),
            ("project", 1),
            ("batch", True),
            ("params", "x"),
            ("params", []),
            ("attachment", 5),
            ("attachment", None),
            ("categories", "ab"),
            ("categories", [1, 2]),
            ("allow_multiple", "yes"),
            ("allow_multiple", 1),
            ("attachment_type", 3),
        ]
    ],
    *[
        Bad(f"audit {value!r}", "/v1/task/{completed}/audit", body(value))
        for value in [
            {"accepted": "yes"},
            {"accepted": 1},
            {"accepted": None},
            {},
            {"accepted": True, "comments": 5},
        ]
    ],
    *[
        Bad(f"unique_id {value!r}", "/v1/task/{id}/unique_id", body(value))
        for value in [
            {"unique_id": 5},
            {"unique_id": None},
            {"unique_id": ["a"]},
            {},
        ]
    ],
    Bad("tags [1]", "/v1/task/{id}/tags", body([1])),
    Bad("tags {tags: 'a'}", "/v1/task/{id}/tags", body({"tags": "a"}), method="delete"),
    Bad("profile callback URL 5", "/v1/profile", body({"default_callback_url": 5}), method="patch"),
    Bad("ops error 5", "/v1/ops/task/{id}/error", body({"error": 5}), operator=True),
    Bad("ops error blank", "/v1/ops/task/{id}/error", body({"error": " "}), operator=True),
    Bad("ops complete without response", "/v1/ops/task/{id}/complete", body({}), operator=True),
    Bad("ops complete response list", "/v1/ops/task/{id}/complete", body({"response": []}), operator=True),
    Bad(
        "ops complete category list",
        "/v1/ops/task/{id}/complete",
        body({"response": {"category": [[]]}}),
        operator=True,
    ),
    Bad(
        "ops complete annotation type list",
        "/v1/ops/task/{image}/complete",
        body({"response": {"annotations": [{"type": ["box"]}]}}),
        operator=True,
    ),
    # headers
    Bad(
        "Idempotency-Key with a control character",
        CREATE,
        body(VALID),
        headers={"HTTP_IDEMPOTENCY_KEY": "a\x00b"},
    ),
    Bad(
        "Idempotency-Key of 256 characters", CREATE, body(VALID), headers={"HTTP_IDEMPOTENCY_KEY": "k" * 256}
    ),
]


@pytest.fixture
def tasks(account):
    owner = account.user

    def create():
        return services.task_create(
            owner=owner,
            mode=Mode.LIVE,
            **task_create_body(
                task_type="categorization",
                data={**VALID, "metadata": {"kept": 1}, "tags": ["kept"], "unique_id": None},
            ),
        )

    pending = create()
    completed = services.task_complete(task_id=create().id, response={"category": "red"})
    image = services.task_create(
        owner=owner,
        mode=Mode.LIVE,
        **task_create_body(
            task_type="imageannotation",
            data={
                "attachment": "https://example.com/a.png",
                "geometries": {"box": {"objects_to_annotate": ["car"]}},
            },
        ),
    )
    return {"id": pending.id, "completed": completed.id, "image": image.id}


@pytest.mark.parametrize("bad", CATALOGUE, ids=lambda bad: bad.name)
def test_bad_input_is_a_4xx_json_error_and_changes_nothing(api, account, operator_account, tasks, bad):
    # given
    key = (operator_account if bad.operator else account).live_api_key
    path = bad.path.format(**tasks)
    before = database_state()

    # when
    answer = getattr(api.as_key(key), bad.method)(
        path, data=bad.raw, content_type=bad.content_type, **bad.headers
    )

    # then
    assert answer.status_code == bad.status, answer.content[:500]
    assert answer["Content-Type"] == "application/json"
    error = answer.json()
    assert error["status_code"] == bad.status
    assert isinstance(error["error"], str) and error["error"]
    assert set(error) <= {"status_code", "error", "details"}
    assert database_state() == before


def test_metadata_at_the_limits_is_accepted(api, account, tasks):
    # the control of the depth and size cases: 32 levels and just under 64 KiB pass
    deep = json.loads(nested(31))
    answer = api.as_key(account.live_api_key).post(
        f"/v1/task/{tasks['id']}/setMetadata", {"deep": deep, "big": "y" * 60_000}, format="json"
    )

    assert answer.status_code == 200, answer.json()


RESERVED_IPV6 = ["[::127.0.0.1]", "[::7f00:1]", "[fec0::1]", "[::ffff:0:127.0.0.1]", "[::a9fe:a9fe]"]
IMAGE = {"attachment": "https://example.com/a.png", "geometries": {"box": {"objects_to_annotate": ["car"]}}}


@pytest.mark.parametrize("host", [*RESERVED_IPV6, "127.0.0.1", "169.254.169.254"])
@pytest.mark.parametrize(
    "method, path, data",
    [
        ("post", CREATE, lambda url: {**VALID, "callback_url": url}),
        ("patch", "/v1/profile", lambda url: {"default_callback_url": url}),
        ("post", "/v1/task/imageannotation", lambda url: {**IMAGE, "attachment": url}),
        ("post", CREATE, lambda url: {**VALID, "attachment_type": "image", "attachment": url}),
    ],
    ids=["callback_url", "default_callback_url", "image attachment", "categorization attachment"],
)
def test_target_at_a_forbidden_literal_address_is_refused_at_save_time(
    api, account, settings, host, method, path, data
):
    # given no network allowed (the suite allows loopback)
    settings.CALLBACK_ALLOWED_NETWORKS = []
    before = database_state()

    # when
    answer = getattr(api.as_key(account.live_api_key), method)(
        path, data(f"http://{host}/a.png"), format="json"
    )

    # then
    assert answer.status_code == 400, answer.content[:500]
    assert "not allowed" in answer.json()["error"]
    assert database_state() == before


def token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


TASK = "0" * 24
BAD_QUERIES = [
    *[
        f"{name}={value}"
        for name in ("start_time", "end_time", "completed_after", "updated_before")
        for value in ("0001-01-01T00:00:00%2B23:59", "9999-12-31T23:59:59-23:59")
    ],
    "start_time=2024-01-01T00:00:00%2B24:00",
    *[
        f"next_token={token(raw)}"
        for raw in [
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":Infinity}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":-Infinity}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":NaN}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":1e999}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":1.5}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":true}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":"5"}}',
            f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":{10**30}}}',
            f'{{"c":"0001-01-01T00:00:00+23:59","i":"{TASK}","o":0}}',
            f'{{"c":"9999-12-31T23:59:59-23:59","i":"{TASK}","o":0}}',
            '{"c":"2024-01-01T00:00:00+00:00","i":"\\ud800","o":0}',
            '{"c":"2024-01-01T00:00:00+00:00","i":"\\u0000","o":0}',
            '{"c":"2024-01-01T00:00:00+00:00","i":5,"o":0}',
            f'{{"c":"\\ud800","i":"{TASK}","o":0}}',
            "[1, 2, 3]",
        ]
    ],
    "&".join(f"tags=t{i}" for i in range(101)),
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_task_list_query_is_a_400_json_error(customer, tasks, query):
    answer = customer.get(f"/v1/tasks?{query}")

    assert answer.status_code == 400, answer.content[:500]
    assert answer["Content-Type"] == "application/json"
    error = answer.json()
    assert error["status_code"] == 400
    assert isinstance(error["error"], str) and error["error"]


def test_task_list_with_as_many_tags_as_a_task_may_have(customer, account):
    # a filter on 100 tags (MAX_TAGS) finds the task that has them all, and no other
    tags = [f"t{i}" for i in range(100)]
    both = customer.post(CREATE, {**VALID, "tags": tags}, format="json").json()["task_id"]
    customer.post(CREATE, {**VALID, "tags": tags[:99]}, format="json")

    answer = customer.get("/v1/tasks?" + "&".join(f"tags={tag}" for tag in tags))

    assert answer.status_code == 200, answer.content[:500]
    assert [doc["task_id"] for doc in answer.json()["docs"]] == [both]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00%2B00:00", "9999-12-31T23:59:59Z", "0001-01-01"])
def test_task_list_at_the_ends_of_time_is_accepted(customer, tasks, value):
    answer = customer.get(f"/v1/tasks?start_time={value}&end_time={value}")

    assert answer.status_code == 200, answer.content[:500]


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_metadata_refuses_numbers_no_database_stores(number):
    # the API's parser refuses them first; the metadata rule holds for any caller
    with pytest.raises(serializers.ValidationError, match="finite"):
        validate_metadata({"n": [number]})


@pytest.mark.django_db(transaction=True)
def test_bad_input_over_real_http_is_a_400(live_server, account):
    # the same answers through a real server: the query string as a client encodes it
    session = requests.Session()
    session.auth = (account.live_api_key, "")
    infinite_offset = token(f'{{"c":"2024-01-01T00:00:00+00:00","i":"{TASK}","o":Infinity}}')
    answers = [
        session.get(f"{live_server.url}/v1/tasks", params={"start_time": "0001-01-01T00:00:00+23:59"}),
        session.get(f"{live_server.url}/v1/tasks", params={"end_time": "9999-12-31T23:59:59-23:59"}),
        session.get(f"{live_server.url}/v1/tasks", params={"next_token": infinite_offset}),
        session.post(
            f"{live_server.url}{CREATE}",
            data=b'{"attachment": "a", "categories": ["a", "b"], "metadata": {"n": 1e999}}',
            headers={"Content-Type": "application/json"},
        ),
    ]

    for answer in answers:
        assert answer.status_code == 400, (answer.request.url, answer.text[:500])
        assert answer.json()["status_code"] == 400
    assert Task.objects.count() == 0
