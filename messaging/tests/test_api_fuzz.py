"""Schemathesis fuzzes the API from its own OpenAPI schema: no 500s, and every answer is one the schema describes.

The schema is loaded from `/api/schema/` of the real WSGI application and every operation is called through it
with valid and invalid data, as an authenticated user who has a conversation (so reads find rows).

The run is bounded and derandomized so CI is quick and repeatable; `RELAY_FUZZ_EXAMPLES=300` (examples per
operation) with `RELAY_FUZZ_SEED=random` explores further on a developer's machine.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The surfaces this fuzzing covers; each new API surface adds its prefix here.
FUZZED_PATHS = r"^/api/(messages|auth)/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


@pytest.fixture
def fuzz_user(db):
    """A user with a conversation: messages both ways, one with an attachment, one reply."""
    user = UserFactory(username="fuzzer")
    partner = UserFactory(username="partner")
    first = MessageFactory(sender=partner, recipient=user)
    MessageFactory(sender=user, recipient=partner, reply_to=first)
    AttachmentMessageFactory(sender=partner, recipient=user)
    return user


@pytest.fixture
def fuzz_headers(fuzz_user):
    return {"Authorization": f"Bearer {RefreshToken.for_user(fuzz_user).access_token}"}


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Requests go through the WSGI application inside the test's transaction.

    Django's test client disconnects `close_old_connections` from the request signals for the same reason:
    closing the connection would end the test transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# The schema as served (generation needs no database), called in-process through the WSGI application.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=FUZZED_PATHS)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("RELAY_FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize=os.environ.get("RELAY_FUZZ_SEED") != "random",
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says_and_never_with_a_server_error(case, fuzz_headers):
    """Every operation, fed valid and invalid data, answers a documented status with a documented body."""
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)
