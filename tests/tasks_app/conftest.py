import pytest
from scaleapi import ScaleClient

from tests.servers import FileServer

CATEGORIZATION = {
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


@pytest.fixture
def scale_as(live_server):
    """An official ``scaleapi`` client of the live server for an API key: ``scale_as(key)``."""

    def client(api_key: str) -> ScaleClient:
        return ScaleClient(api_key, api_instance_url=f"{live_server.url}/v1")

    return client


@pytest.fixture
def scale(scale_as, account):
    """The official ``scaleapi`` client with the customer's live key, talking to the live server."""
    return scale_as(account.live_api_key)


@pytest.fixture
def scale_test(scale_as, account):
    """The same customer's client with its test key."""
    return scale_as(account.test_api_key)


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


@pytest.fixture
def create_batch(customer):
    """Create a categorization project (unless it exists) and a batch of it through the API;
    returns the batch object."""

    def create(project: str, name: str, client=None, **fields):
        client = client or customer
        if client.get(f"/v1/projects/{project}").status_code == 404:
            made = client.post("/v1/projects", {"type": "categorization", "name": project}, format="json")
            assert made.status_code == 200, made.json()
        answer = client.post("/v1/batches", {"project": project, "name": name, **fields}, format="json")
        assert answer.status_code == 200, answer.json()
        return answer.json()

    return create


@pytest.fixture
def create_project(customer):
    """Create a categorization project through the API; returns the project object."""

    def create(name: str, client=None, **fields):
        answer = (client or customer).post(
            "/v1/projects", {"type": "categorization", "name": name, **fields}, format="json"
        )
        assert answer.status_code == 200, answer.json()
        return answer.json()

    return create
