"""Schemathesis fuzzes the API from its own OpenAPI schema: no 500s, and every answer is one the schema describes.

The schema is loaded from `/api/schema/` of the real WSGI application and every operation is called through it
with valid and invalid data, as an authenticated user who has a conversation (so reads find rows).

The run is bounded and derandomized so CI is quick and repeatable; `RELAY_FUZZ_EXAMPLES=300` (examples per
operation) with `RELAY_FUZZ_SEED=random` explores further on a developer's machine.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.helpers import FUZZ_CHECKS
from users.tests.factories import UserFactory
from users.tokens import RefreshToken

# Requests go through the WSGI application inside the test transaction (see `keep_test_connection`).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_test_connection")]

# The surfaces this fuzzing covers; each new API surface adds its prefix here.
FUZZED_PATHS = r"^/api/(messages|auth)/"


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


# The schema as served (generation needs no database), called in-process through the WSGI application. The
# event stream never ends, so it is not fuzzed here: its own tests read it (test_events*.py).
schema = (
    schemathesis.openapi.from_wsgi("/api/schema/", application)
    .include(path_regex=FUZZED_PATHS)
    .exclude(path="/api/messages/events")
)


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
    case.call_and_validate(headers=fuzz_headers, checks=FUZZ_CHECKS)
