"""The embedded default under concurrent writers: `manage.py runserver` on a SQLite file, as `scripts/run.sh`
serves it, with real clients writing at once over HTTP. No answer is a 5xx (such as "database is locked"),
and every write that was answered is in the database.

The server runs in its own process on its own database file (the suite's SQLite test database lives in
memory, inside this process), so this runs whatever database the rest of the suite uses.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, http_json, run_at_once

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = ["alice", "bob", "carol", "dave"]  # seed_data's demo people
PASSWORD = "relay-demo-pass"
WRITERS = 8
REQUESTS_PER_WRITER = 12
TIME_LIMIT_SECONDS = 120


@pytest.fixture
def dev_server(tmp_path):
    """`manage.py runserver` (threaded, as scripts/run.sh runs it) on a migrated, seeded SQLite file."""
    database = tmp_path / "relay.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "0",
        "THROTTLE_SEND_RATE": "100000/min",
        "THROTTLE_LOGIN_RATE": "100000/min",
    }
    env.pop("REDIS_URL", None)
    for command in (["migrate", "--noinput"], ["seed_data"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("runserver did not start")
        yield base, database
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_concurrent_writers_on_the_sqlite_default_get_no_5xx_and_lose_nothing(dev_server):
    """8 clients at once, each 12 writes (new-API sends, legacy sends, legacy conversation opens, reads)."""
    base, database = dev_server
    tokens, ids = {}, {}
    for name in PEOPLE:
        status, body = http_json(
            f"{base}/api/auth/token/", method="POST", body={"username": name, "password": PASSWORD}
        )
        assert status == 200, body
        tokens[name] = body["access"]
        ids[name] = http_json(f"{base}/api/auth/me/", token=tokens[name])[1]["id"]

    def writer(index: int) -> list[tuple[str, int, dict]]:
        me, other = PEOPLE[index % len(PEOPLE)], PEOPLE[(index + 1) % len(PEOPLE)]
        answers = []
        for n in range(REQUESTS_PER_WRITER):
            kind = n % 4
            if kind == 0:
                url, body = f"{base}/api/messages/send", {"recipient_id": ids[other], "body": f"writer {index}.{n}"}
            elif kind == 1:
                url, body = (
                    f"{base}/api/direct-messages/",
                    {"receiver_id": ids[other], "content": f"writer {index}.{n}"},
                )
            elif kind == 2:
                url, body = f"{base}/api/messaging/conversations", {"participant_ids": [ids[other]]}
            else:
                url, body = f"{base}/api/messages/mark-conversation-read/{ids[other]}", None
            try:
                status, payload = http_json(url, method="PUT" if kind == 3 else "POST", body=body, token=tokens[me])
            except OSError as exc:  # no answer at all (a timeout) counts as a server failure
                status, payload = 599, {"error": repr(exc)}
            answers.append((f"writer {index}.{n}" if kind < 2 else "", status, payload))
        return answers

    per_writer, errors = run_at_once(writer, WRITERS, timeout=TIME_LIMIT_SECONDS)
    assert errors == []
    answers = [answer for answers in per_writer for answer in answers]
    assert len(answers) == WRITERS * REQUESTS_PER_WRITER
    failures = [(status, payload) for _, status, payload in answers if status >= 500]
    assert failures == []
    assert all(status < 300 for _, status, _ in answers), [a for a in answers if a[1] >= 300][:5]
    sent = sorted(body for body, _, _ in answers if body)
    with sqlite3.connect(database) as db:
        stored = sorted(row[0] for row in db.execute("SELECT body FROM messaging_message WHERE body LIKE 'writer %'"))
    assert stored == sent  # every answered send is stored, once
