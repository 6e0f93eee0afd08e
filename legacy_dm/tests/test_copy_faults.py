"""The legacy copy under faults: a copy process killed mid-batch (SIGKILL), while old servers keep writing.

The copy runs in a separate process, which sees the test database.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection

from legacy_dm import verify
from messaging.models import Message
from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[2]
OLD_USERS = 40
OLD_MESSAGES = 60_000
BATCH = 300


def _carried() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message WHERE legacy_id IS NOT NULL")
        return cursor.fetchone()[0]


def _fill_old_tables():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (id, username, email, hashed_password, full_name, created_at)"
            " SELECT i, 'old' || i, 'old' || i || '@example.com', '$2b$04$' || repeat('x', 53), NULL,"
            " now() - interval '1 year' FROM generate_series(1, %s) AS i",
            [OLD_USERS],
        )
        # Every few rows something messy: a missing sender, a dangling reply, a file, a delete, a read.
        cursor.execute(
            "INSERT INTO direct_messages (id, sender_id, receiver_id, content, file_data, file_name, file_type,"
            " reply_to_id, is_read, is_deleted_by_sender, created_at)"
            " SELECT i,"
            "  CASE WHEN i %% 997 = 0 THEN 5000 + i %% 3 ELSE 1 + i %% %s END,"
            "  1 + (i * 7) %% %s,"
            "  CASE WHEN i %% 11 = 0 THEN NULL ELSE 'old message ' || i END,"
            "  CASE WHEN i %% 50 = 0 THEN decode('89504e470d0a1a0a', 'hex') END,"
            "  CASE WHEN i %% 50 = 0 THEN 'pic' || i || '.png' END,"
            "  CASE WHEN i %% 50 = 0 THEN 'image/png' END,"
            "  CASE WHEN i %% 13 = 0 THEN i - 1 WHEN i %% 101 = 0 THEN 10000000 + i END,"
            "  i %% 3 = 0, i %% 17 = 0,"
            "  timestamp '2023-01-01' + i * interval '1 minute'"
            " FROM generate_series(1, %s) AS i",
            [OLD_USERS, OLD_USERS, OLD_MESSAGES],
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('direct_messages', 'id'), %s)", [OLD_MESSAGES])


def _old_server_writes(first_id: int, count: int):
    """What an old server still running during the deploy writes: new rows with the old table's next ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO direct_messages (sender_id, receiver_id, content, created_at)"
            " SELECT 1 + i %% %s, 2 + i %% %s, 'written by an old server ' || i, now() at time zone 'utc'"
            " FROM generate_series(1, %s) AS i",
            [OLD_USERS - 1, OLD_USERS - 2, count],
        )


def test_copy_killed_mid_batch_resumes_to_an_exact_verified_copy(transactional_db):
    """SIGKILL a running copy: every committed batch stays, none is half-written, and a rerun completes it."""
    _fill_old_tables()
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "copy_legacy_messages", "--batch-size", str(BATCH)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _carried() < 5 * BATCH and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        _old_server_writes(OLD_MESSAGES + 1, 25)  # an old server writes while the copy runs
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    carried_when_killed = _carried()
    print(f"carried when killed: {carried_when_killed} of {OLD_MESSAGES}")
    assert 0 < carried_when_killed < OLD_MESSAGES, "the copy was not interrupted half-way"
    assert not verify.verify(connection).ok

    _old_server_writes(OLD_MESSAGES + 26, 25)  # ... and keeps writing after the crash
    call_command("copy_legacy_messages", "--verify", "--batch-size", str(BATCH * 10))

    assert _carried() == OLD_MESSAGES + 50
    result = verify.verify(connection)
    assert result.ok, result.report()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT id) FROM direct_messages")
        assert cursor.fetchone() == (OLD_MESSAGES + 50, OLD_MESSAGES + 50)
    # The carried rows are the old rows, id for id, and new messages get ids above them.
    assert set(Message.objects.filter(legacy_id__isnull=False).values_list("id", flat=True)) == set(
        range(1, OLD_MESSAGES + 51)
    )
    assert Message.objects.filter(body="written by an old server 7").count() == 2
