"""The embedded PostgreSQL (config/embedded_db.py) as the scripts drive it: start, running, stop, and the
two situations a newcomer's machine can be in that the wheel alone does not handle."""

import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.conf import settings

from config import embedded_db


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "config.embedded_db", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data(tmp_path_factory) -> Path:
    # Short and without spaces: a Unix socket's path is limited to about 100 characters.
    folder = Path(tmp_path_factory.mktemp("epg")) / "pg"
    yield folder
    embedded_db.stop(folder)


def test_start_answers_a_url_of_a_running_server_that_stop_stops(data):
    started = _cli("start", "--data", str(data))
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert _cli("running", "--data", str(data)).returncode == 0
    parsed = dj_database_url.parse(url)
    with psycopg.connect(host=parsed["HOST"], user=parsed["USER"], dbname=parsed["NAME"]) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("relay",)
    assert _cli("stop", "--data", str(data)).stdout.strip() == "stopped"
    assert _cli("running", "--data", str(data)).returncode == 1
    assert _cli("stop", "--data", str(data)).stdout.strip() == "not running"


def test_a_data_folder_with_a_space_is_refused_with_what_to_do(tmp_path):
    refused = _cli("start", "--data", str(tmp_path / "with space" / "pg"))
    assert refused.returncode == 2
    assert "RELAY_EMBEDDED_PGDATA" in refused.stderr and "DATABASE_URL" in refused.stderr


def test_a_stale_pid_file_whose_pid_another_process_holds_does_not_stop_the_start(data):
    assert _cli("start", "--data", str(data)).returncode == 0
    assert _cli("stop", "--data", str(data)).returncode == 0
    # As after a reboot: the server's pid file is left, and its pid is another process's (this one's).
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n")
    assert _cli("running", "--data", str(data)).returncode == 1
    started = _cli("start", "--data", str(data))
    assert started.returncode == 0, started.stderr
    assert _cli("running", "--data", str(data)).returncode == 0
