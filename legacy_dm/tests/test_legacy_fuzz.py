"""Schemathesis fuzzes the legacy API from the OpenAPI schema: no 500s, every answer in a documented old shape.

The legacy operations are documented with the old service's answers (bare arrays, naive UTC times, FastAPI's
422 and `{"detail": ...}` errors, the deprecation headers); this calls each of them with valid and invalid
data, as a user who has a conversation with a known id, with half of the generated ids pointed at that user's
rows (so reads, marks, deletes and sends succeed too), and checks every answer against that documentation.
The run is bounded and derandomized like the new API's (`messaging.tests.test_api_fuzz`), with the same
`RELAY_FUZZ_EXAMPLES` / `RELAY_FUZZ_SEED` knobs for a longer run.
"""

import os
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application
from legacy_dm.conversations import conversation_for_pair
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.helpers import FUZZ_CHECKS
from users.tests.factories import UserFactory
from users.tokens import RefreshToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("keep_test_connection")]

LEGACY_PATHS = r"^/api/(direct-messages|messaging)/"


@dataclass
class FuzzWorld:
    """The caller's token and the ids that name their rows, by the parameter names that take them."""

    headers: dict
    ids: dict[str, list[int]]


@pytest.fixture
def legacy_world(db):
    """A user with a conversation that has an id: messages both ways, one with a file, one reply."""
    user = UserFactory(username="legacy-fuzzer", display_name="")
    partner = UserFactory(username="legacy-partner", display_name="Partner")
    first = MessageFactory(sender=partner, recipient=user)
    reply = MessageFactory(sender=user, recipient=partner, reply_to=first)
    with_file = AttachmentMessageFactory(sender=partner, recipient=user)
    conversation, _ = conversation_for_pair(user=user, other=partner, opened_by=user)
    return FuzzWorld(
        headers={"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"},
        ids={
            "message_id": [first.pk, reply.pk, with_file.pk],
            "user_id": [partner.pk],
            "conversation_id": [conversation.pk],
            "receiver_id": [partner.pk],
            "reply_to_id": [first.pk, reply.pk],
        },
    )


def point_at_known_rows(case, world: FuzzWorld) -> None:
    """Turn every other generated integer id into one of the caller's, so successes are checked too.

    Random ids are almost never the caller's rows: without this the fuzzing would see little but 404s and
    422s, and never check the success shapes of reads, marks, deletes and sends. The choice follows the
    generated value, so a run stays repeatable and hypothesis can still shrink.
    """

    def known(name, value):
        if type(value) is not int or value % 2 or not world.ids.get(name):
            return value
        return world.ids[name][(value // 2) % len(world.ids[name])]

    for name, value in (case.path_parameters or {}).items():
        case.path_parameters[name] = known(name, value)
    if isinstance(case.body, dict):
        for name in ("receiver_id", "reply_to_id"):
            if name in case.body:
                case.body[name] = known(name, case.body[name])
        if isinstance(case.body.get("participant_ids"), list):
            case.body["participant_ids"] = [known("user_id", value) for value in case.body["participant_ids"]]


schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=LEGACY_PATHS)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("RELAY_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("RELAY_FUZZ_SEED") != "random",
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_legacy_api_answers_as_its_schema_says_and_never_with_a_server_error(case, legacy_world):
    """Every legacy operation, fed valid and invalid data, answers a documented status in the old shape."""
    point_at_known_rows(case, legacy_world)
    case.call_and_validate(headers=legacy_world.headers, checks=FUZZ_CHECKS)
