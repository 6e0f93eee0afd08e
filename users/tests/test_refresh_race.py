"""One refresh token, many clients at once: exactly one rotation wins, every other answer is a 401.

Real concurrent HTTP: threads started together against a live server, each request served in its own
thread with its own database connection, committing for real.
"""

import json
import urllib.error
import urllib.request
from collections import Counter

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.helpers import run_at_once
from users.tests.factories import UserFactory
from users.tokens import RefreshToken

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 12
ROUNDS = 3
TIMEOUT_SECONDS = 60


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def refresh_all_at_once(url: str, refresh: str) -> list[tuple[int, dict]]:
    answers, errors = run_at_once(lambda _: post_json(url, {"refresh": refresh}), PARALLEL, timeout=TIMEOUT_SECONDS * 2)
    assert errors == []
    return answers


def test_parallel_refreshes_of_one_token_let_exactly_one_win(live_server):
    dora = UserFactory(username="dora")
    url = f"{live_server.url}/api/auth/token/refresh/"
    refresh = str(RefreshToken.for_user(dora))

    for _ in range(ROUNDS):  # the winner's new token races again: each generation has one heir
        answers = refresh_all_at_once(url, refresh)
        assert Counter(status for status, _ in answers) == {200: 1, 401: PARALLEL - 1}, answers
        (winner,) = [body for status, body in answers if status == 200]
        refused = [body for status, body in answers if status == 401]
        assert all(body.get("code") == "token_not_valid" and body.get("detail") for body in refused), refused
        refresh = winner["refresh"]

    # One live chain: all but the last heir are blacklisted, and that one still works.
    assert OutstandingToken.objects.filter(user=dora).count() == ROUNDS + 1
    assert BlacklistedToken.objects.filter(token__user=dora).count() == ROUNDS
    assert post_json(url, {"refresh": refresh})[0] == 200
