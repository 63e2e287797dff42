"""What the web process's log lines keep of a request (the real gunicorn: tests/test_deploy.py)."""

import pytest

from scalehooks.log_masking import masked_path, masked_query, masked_url


@pytest.mark.parametrize(
    "path, masked",
    [
        ("/inbox/Zm9vYmFy_-x/any/path", "/inbox/***/any/path"),
        ("/inbox/Zm9vYmFy", "/inbox/***"),
        ("/portal/link/abc123", "/portal/link/***"),
        ("/callbacks/confirm/abc123", "/callbacks/confirm/***"),
        ("/v1/files/content/abc123/street.png", "/v1/files/content/***/street.png"),
        ("/portal/invitations/abc123", "/portal/invitations/***"),
        ("Not Found: /portal/link/abc123", "Not Found: /portal/link/***"),
        ("/v1/task/0123456789abcdef01234567", "/v1/task/0123456789abcdef01234567"),
        ("/portal/inboxes/abc", "/portal/inboxes/abc"),
    ],
)
def test_masked_path_masks_the_token_of_secret_routes_only(path, masked):
    assert masked_path(path) == masked


def test_masked_query_and_referer():
    assert masked_query('"GET /v1/tasks?key=s3cret HTTP/1.1" 200') == '"GET /v1/tasks?*** HTTP/1.1" 200'
    assert (
        masked_url("https://u:pw@host.example/portal/link/abc?x=1")
        == "https://host.example/portal/link/***?***"
    )
    assert masked_url("-") == "-"
