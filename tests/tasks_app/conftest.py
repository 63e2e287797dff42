import pytest

from tests.servers import FileServer

CATEGORIZATION = {
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


@pytest.fixture
def file_server():
    """A real HTTP server on 127.0.0.1 serving attachments (404 for unknown paths)."""
    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def create_task(customer):
    """Create a categorization task through the API; returns its task object."""

    def create(client=None, **fields):
        answer = (client or customer).post(
            "/v1/task/categorization", {**CATEGORIZATION, **fields}, format="json"
        )
        assert answer.status_code == 200, answer.json()
        return answer.json()

    return create
