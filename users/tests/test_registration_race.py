"""Registrations of one name in different cases, or of look-alikes, at once: exactly one account, the others a 400.

Real concurrent HTTP against a live server (each request in its own thread and database connection).
"""

import json
import urllib.error
import urllib.request

import pytest
from django.contrib.auth import get_user_model

from tests.helpers import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

SPELLINGS = ["racer", "Racer", "RACER", "rAcer", "raCer", "racEr", "raceR", "RaCeR"]
ROUNDS = 3


def register(url: str, username: str, index: int) -> tuple[int, dict]:
    body = {"username": username, "email": f"{username.lower()}{index}@example.com", "password": "a-long-passphrase"}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_one_name_registered_in_several_cases_at_once_makes_exactly_one_account(live_server, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "10000/hour"},
    }
    url = f"{live_server.url}/api/auth/register/"
    for round_ in range(ROUNDS):
        spellings = [f"{name}{round_}" for name in SPELLINGS]
        answers, errors = run_at_once(
            lambda index, spellings=spellings: register(url, spellings[index], index), len(spellings)
        )
        assert errors == []
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201] + [400] * (len(spellings) - 1), answers
        assert all(
            body == {"username": ["A user with that username already exists."]}
            for status, body in answers
            if status == 400
        ), answers
        assert get_user_model().objects.filter(username__iexact=f"racer{round_}").count() == 1


LOOKALIKES = ["lily", "1ily", "Iily", "li1y", "LILY", "l1ly", "1i1y", "IiIy"]


def test_lookalike_names_registered_at_once_make_exactly_one_account(live_server, settings):
    """`lily`, `1ily`, `IiIy`...: one skeleton, so one lock and one account (users.usernames)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "10000/hour"},
    }
    url = f"{live_server.url}/api/auth/register/"
    for round_ in ("a", "b", "c"):
        names = [f"{name}{round_}" for name in LOOKALIKES]
        answers, errors = run_at_once(lambda index, names=names: register(url, names[index], index), len(names))
        assert errors == []
        assert sorted(status for status, _ in answers) == [201] + [400] * (len(names) - 1), answers
        assert get_user_model().objects.filter(username__in=names).count() == 1
