"""The one exception handler of the API (SPEC §4): domain errors and Django's
ValidationError become ``{status_code, error[, details]}``."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework import serializers

from callbacks_app.errors import NoCallbackTarget
from scalehooks.api.exception_handlers import api_exception_handler
from scalehooks.errors import Conflict, DomainError, IllegalStateChange, NotFound
from tasks_app.errors import TaskNotFound, TaskStateConflict


@pytest.mark.parametrize(
    "error, status_code",
    [
        (DomainError("Refused."), 400),
        (NoCallbackTarget("Refused."), 400),
        (NotFound("Refused."), 404),
        (TaskNotFound("Refused."), 404),
        (Conflict("Refused."), 409),
        (IllegalStateChange("Refused."), 400),
        (TaskStateConflict("Refused."), 400),
    ],
)
def test_domain_error_is_answered_with_its_status_and_message(error, status_code):
    answer = api_exception_handler(error, {})

    assert answer.status_code == status_code
    assert answer.data == {"status_code": status_code, "error": "Refused."}


def test_django_validation_error_by_field_is_answered_as_drf_would():
    # given the same error raised by the domain and by a serializer
    domain = ValidationError({"tags": ["A task has at most 100 tags."]})
    api = serializers.ValidationError({"tags": ["A task has at most 100 tags."]})

    # when both are answered
    answers = [api_exception_handler(error, {}) for error in (domain, api)]

    # then the answers are the same
    assert [answer.status_code for answer in answers] == [400, 400]
    assert (
        answers[0].data
        == answers[1].data
        == {
            "status_code": 400,
            "error": "tags: A task has at most 100 tags.",
            "details": {"tags": ["A task has at most 100 tags."]},
        }
    )


def test_django_validation_error_without_field_is_a_non_field_error():
    answer = api_exception_handler(ValidationError("Not a valid URL."), {})

    assert answer.status_code == 400
    assert answer.data == {
        "status_code": 400,
        "error": "Not a valid URL.",
        "details": {"non_field_errors": ["Not a valid URL."]},
    }


def test_unexpected_error_is_left_to_django():
    assert api_exception_handler(RuntimeError("boom"), {}) is None
