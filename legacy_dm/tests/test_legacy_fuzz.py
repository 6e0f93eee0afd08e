"""Schemathesis fuzzes the legacy API from the OpenAPI schema: no 500s, every answer in a documented old shape.

The legacy operations are documented with the old service's answers (bare arrays, naive UTC times, FastAPI's
422 and `{"detail": ...}` errors, the deprecation headers); this calls each of them with valid and invalid
data, as a user who has a conversation with a known id (so reads find rows), and checks every answer against
that documentation. The run is bounded and derandomized like the new API's (`messaging.tests.test_api_fuzz`),
with the same `RELAY_FUZZ_EXAMPLES` / `RELAY_FUZZ_SEED` knobs for a longer run.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken

from config.wsgi import application
from legacy_dm.conversations import conversation_for_pair
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from messaging.tests.test_api_fuzz import CHECKS, _keep_test_connection  # noqa: F401 (an autouse fixture)
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEGACY_PATHS = r"^/api/(direct-messages|messaging)/"


@pytest.fixture
def legacy_fuzz_headers(db):
    """A bearer token of a user with a conversation (id 1 when the table is new): both ways, a file, a reply."""
    user = UserFactory(username="legacy-fuzzer", display_name="")
    partner = UserFactory(username="legacy-partner", display_name="Partner")
    first = MessageFactory(sender=partner, recipient=user)
    MessageFactory(sender=user, recipient=partner, reply_to=first)
    AttachmentMessageFactory(sender=partner, recipient=user)
    conversation_for_pair(user=user, other=partner, opened_by=user)
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=LEGACY_PATHS)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("RELAY_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("RELAY_FUZZ_SEED") != "random",
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_legacy_api_answers_as_its_schema_says_and_never_with_a_server_error(case, legacy_fuzz_headers):
    """Every legacy operation, fed valid and invalid data, answers a documented status in the old shape."""
    case.call_and_validate(headers=legacy_fuzz_headers, checks=CHECKS)
