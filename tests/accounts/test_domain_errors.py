"""The one domain error type: services raise it, the API, the console and the tasks render it."""

import pickle

from apps.accounts.admin_scoping import refusal_errors
from signage.api.exceptions import exception_handler
from signage.errors import DomainError


def test_a_refusal_is_a_403_with_its_code_in_the_api_and_a_field_message_in_the_console():
    error = DomainError.refusal("No external storage.", "no_external_storage")
    response = exception_handler(error, {"view": None})
    assert (response.status_code, response.data) == (
        403,
        {"detail": "No external storage.", "code": "no_external_storage"},
    )
    assert refusal_errors(error) == {"no_external_storage": ["No external storage."]}


def test_a_reference_payload_reaches_the_console_as_plain_text():
    error = DomainError({"screens": {"message": "<p>At least <b>2 screens</b>.</p>", "code": "screens_not_enough"}})
    assert refusal_errors(error) == {"screens": ["At least 2 screens."]}
    assert str(error) == "At least 2 screens."


def test_it_survives_a_result_backend_with_its_payload_and_status():
    error = pickle.loads(pickle.dumps(DomainError({"__all__": [{"message": "Full.", "code": "full"}]}, 409)))
    assert (error.payload, error.status, str(error)) == (
        {"__all__": [{"message": "Full.", "code": "full"}]},
        409,
        "Full.",
    )
