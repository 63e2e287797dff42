"""When the web worker's front hands a request to a thread: ``request_complete`` on the bytes so far
(the real server against dripping clients: tests/test_deploy.py)."""

import pytest

from scalehooks.web_worker import HEAD_LIMIT, request_complete

HEAD = b"POST /v1/tasks HTTP/1.1\r\nHost: a\r\n"


@pytest.mark.parametrize(
    "data, complete",
    [
        (b"GET /healthz HTTP/1.1\r\nHost: a", False),
        (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", True),
        (HEAD + b"Content-Length: 5\r\n\r\nabc", False),
        (HEAD + b"Content-Length: 5\r\n\r\nabcde", True),
        (HEAD + b"Content-Length: 5\r\n\r\nabcdeGET / HTTP/1.1\r\n", True),  # a pipelined next request
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", True),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", True),
        # framing gunicorn's parser judges at once (and refuses)
        (HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", None),
        (HEAD + b"Content-Length: -1\r\n\r\n", None),
        (HEAD + b"Transfer-Encoding: gzip\r\n\r\n", None),
        (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", None),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", None),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * HEAD_LIMIT, None),
    ],
)
def test_request_complete(data, complete):
    assert request_complete(data) is complete
