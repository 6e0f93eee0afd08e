"""A real PostgreSQL 15 primary and its streaming replica, for the tests of reading from a replica.

Both run from Debian's binaries (/usr/lib/postgresql/15/bin) on free loopback ports, with their data in a
temporary folder; as root, as the `postgres` system user (PostgreSQL refuses to run as root). The replica is
made with `pg_basebackup -R` and replays each transaction `apply_delay` after its commit
(`recovery_min_apply_delay`), so what it has not replayed yet is known in advance.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from tests.helpers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MISSING = (
    f"the PostgreSQL 15 binaries are missing ({PG_BIN}; as root, the `postgres` account too): no primary and "
    "replica to test against (Debian: apt-get install postgresql-15)"
)


def binaries_present() -> bool:
    """PostgreSQL 15's server and tools are installed, and (as root) the account to run them as exists."""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return all((PG_BIN / name).is_file() for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"))


class PostgresPair:
    """`start()` makes and starts both; `stop()` stops both and removes their folder."""

    def __init__(self, *, apply_delay: str = "2s", database: str = "relay") -> None:
        self.apply_delay = apply_delay
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix="relay-pair-"))
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)

    def url(self, which: str, database: str | None = None) -> str:
        port = self.primary_port if which == "primary" else self.replica_port
        return f"postgres://postgres@127.0.0.1:{port}/{database or self.database}"

    def connect(self, which: str, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(self.url(which, database), autocommit=True, connect_timeout=5)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stdout}{result.stderr}")

    def _options(self, port: int, *extra: str) -> str:
        settings = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}", "-c fsync=off", *extra]
        return " ".join(settings)

    def _pg_ctl(self, folder: str, action: str, options: str = "") -> None:
        command = [str(PG_BIN / "pg_ctl"), action, "-w", "-t", "60", "-D", str(self.root / folder)]
        if action == "start":
            command += ["-l", str(self.root / f"{folder}.log"), "-o", options]
        else:
            command += ["-m", "fast"]
        self._run(*command)

    def start(self) -> PostgresPair:
        primary = str(self.root / "primary")
        self._run(str(PG_BIN / "initdb"), "-D", primary, "-U", "postgres", "--auth=trust", "--no-sync")
        self._pg_ctl("primary", "start", self._options(self.primary_port))
        self._run(
            str(PG_BIN / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres"),
            *("-D", str(self.root / "replica"), "-R", "-X", "stream", "--no-sync"),
        )
        self.start_replica()
        with self.connect("primary", "postgres") as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def start_replica(self) -> None:
        delay = f"-c recovery_min_apply_delay={self.apply_delay}"
        self._pg_ctl("replica", "start", self._options(self.replica_port, delay))

    def stop_replica(self) -> None:
        self._pg_ctl("replica", "stop")

    def replica_running(self) -> bool:
        return (self.root / "replica" / "postmaster.pid").exists()

    def migrate(self, env: dict[str, str]) -> None:
        """Relay's schema on the primary (the replica follows)."""
        from django.conf import settings

        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            env={**env, "DATABASE_URL": self.url("primary")},
            cwd=settings.BASE_DIR,
            check=True,
            timeout=600,
        )

    def wait_for_replay(self, seconds: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        self._wait_for("pg_last_wal_replay_lsn", seconds)

    def wait_for_receipt(self, seconds: float = 30) -> None:
        """Until the replica has received (not necessarily replayed) everything the primary has written so far."""
        self._wait_for("pg_last_wal_receive_lsn", seconds)

    def wait_for_no_receiver(self, seconds: float = 30) -> None:
        """Until the replica runs no WAL receiver (after its primary_conninfo was changed and reloaded: the
        startup process stops the old receiver when it sees the change, a moment after the reload returns)."""
        self._until(
            "NOT EXISTS (SELECT FROM pg_stat_wal_receiver WHERE pid IS NOT NULL)",
            [],
            seconds,
            "the replica's WAL receiver did not stop",
        )

    def _wait_for(self, function: str, seconds: float) -> None:
        with self.connect("primary", "postgres") as primary:
            position = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        self._until(f"{function}() >= %s", [position], seconds, f"the replica's {function}() did not reach {position}")

    def _until(self, condition: str, params: list[object], seconds: float, failure: str) -> None:
        """Until `condition` (an SQL expression) holds on the replica, polled; else AssertionError(`failure`)."""
        deadline = time.monotonic() + seconds
        with self.connect("replica", "postgres") as replica:
            while time.monotonic() < deadline:
                if replica.execute(f"SELECT {condition}", params).fetchone()[0]:
                    return
                time.sleep(0.02)
        raise AssertionError(f"{failure} within {seconds} s")

    def stop(self) -> None:
        for folder in ("replica", "primary"):
            if (self.root / folder / "postmaster.pid").exists():
                with contextlib.suppress(RuntimeError):  # stopped already
                    self._pg_ctl(folder, "stop")
        shutil.rmtree(self.root, ignore_errors=True)
