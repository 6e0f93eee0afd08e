"""`manage.py check --deploy` is clean with the production settings of docs/operations.md ("The production profile")."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
# Variables that would change what is checked; each run states its own.
SETTINGS_VARIABLES = (
    "RELAY_PRODUCTION",
    "DEBUG",
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "ALLOWED_HOSTS",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_PROXY",
    "NUM_PROXIES",
    "HTTPS",
)


def run_manage(*args, **environment) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def secret() -> str:
    return secrets.token_urlsafe(50)


def production_env() -> dict[str, str]:
    """The production profile behind a proxy, with fresh secrets: what a deploy check is run with."""
    return {
        "RELAY_PRODUCTION": "1",
        "SECRET_KEY": secret(),
        "JWT_SIGNING_KEY": secret(),
        "ALLOWED_HOSTS": "relay.example.com",
        "BEHIND_PROXY": "1",
    }


def test_production_profile_passes_check_deploy_without_a_single_warning():
    """RELAY_PRODUCTION=1 with its two secrets and the host name is all production needs."""
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        RELAY_PRODUCTION="1",
        SECRET_KEY=secret(),
        JWT_SIGNING_KEY=secret(),
        ALLOWED_HOSTS="relay.example.com",
        BEHIND_PROXY="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_each_protection_set_on_its_own_also_passes_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secret(),
        JWT_SIGNING_KEY=secret(),
        ALLOWED_HOSTS="relay.example.com",
        SECURE_COOKIES="1",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_defaults_fail_check_deploy_naming_what_is_missing():
    """The dev-friendly defaults are not production: check --deploy says exactly why. The keys are not among
    the reasons: a development install has its own, random and distinct (config/devsecrets.py)."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012"):
        assert check_id in result.stderr, check_id
    for check_id in ("relay.W001", "relay.W002", "security.W009"):
        assert check_id not in result.stderr, check_id


@pytest.mark.parametrize(
    "jwt_key",
    [None, "same-as-secret"],
    ids=["no JWT key", "JWT key equal to SECRET_KEY"],
)
def test_production_profile_refuses_to_start_without_a_jwt_key_of_its_own(jwt_key):
    secret_key = secret()
    environment = {"RELAY_PRODUCTION": "1", "SECRET_KEY": secret_key, "ALLOWED_HOSTS": "relay.example.com"}
    if jwt_key:
        environment["JWT_SIGNING_KEY"] = secret_key
    result = run_manage("check", **environment)
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def test_production_profile_refuses_debug():
    result = run_manage("check", RELAY_PRODUCTION="1", DEBUG="1", SECRET_KEY=secret(), JWT_SIGNING_KEY=secret())
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_a_short_jwt_signing_key_is_a_deploy_warning():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        RELAY_PRODUCTION="1",
        SECRET_KEY=secret(),
        JWT_SIGNING_KEY="short",
        ALLOWED_HOSTS="relay.example.com",
    )
    assert result.returncode != 0
    assert "relay.W002" in result.stderr


def test_a_missing_time_zone_database_is_a_deploy_warning(tmp_path):
    """Without one, every reader's times would be UTC: a deploy says so rather than shipping it."""
    production = production_env()
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", PYTHONTZPATH=str(tmp_path), **production)
    assert result.returncode != 0
    assert "relay.W005" in result.stderr and "tzdata" in result.stderr


def test_production_profile_refuses_to_start_without_a_database_url():
    """Production never falls back to the embedded server of a development checkout."""
    result = run_manage("check", RELAY_PRODUCTION="1", SECRET_KEY=secret(), JWT_SIGNING_KEY=secret(), DATABASE_URL="")
    assert result.returncode != 0
    assert "DATABASE_URL must name the PostgreSQL database in production" in result.stderr


def test_a_replica_without_the_shared_redis_is_a_deploy_warning():
    """Read-your-writes across processes needs the shared cache: without REDIS_URL a deploy says so."""
    production = {**production_env(), "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:5999/relay"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", REDIS_URL="", **production)
    assert result.returncode != 0
    assert "relay.W006" in result.stderr and "REDIS_URL" in result.stderr
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", REDIS_URL="redis://127.0.0.1:6379/9", **production
    )
    assert result.returncode == 0, result.stdout + result.stderr
