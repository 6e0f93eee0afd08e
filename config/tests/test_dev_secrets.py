"""Without RELAY_PRODUCTION, an install signs sessions and JWTs with keys of its own, made on its first start
and kept in an ignored file beside its data; no key written in the repository is ever used.

Each case starts Django in a process of its own, as the settings are read once at start.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW_KEYS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps([settings.SECRET_KEY, settings.SIMPLE_JWT['SIGNING_KEY']]))"
)


def keys_of_a_fresh_process(secrets_file: Path, **env: str) -> tuple[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JWT_SIGNING_KEY", "RELAY_PRODUCTION")}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", RELAY_DEV_SECRETS_FILE=str(secrets_file), **env)
    result = subprocess.run(
        [sys.executable, "-c", SHOW_KEYS], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    secret_key, jwt_key = json.loads(result.stdout)
    return secret_key, jwt_key


def keys_written_in_the_repository() -> set[str]:
    """Every quoted string of the settings module: a key found there would be published."""
    import ast

    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_a_development_install_makes_its_own_keys_once_and_keeps_them(tmp_path):
    secrets_file = tmp_path / ".relay-dev-secrets"
    first = keys_of_a_fresh_process(secrets_file)
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600  # its owner's only
    assert keys_of_a_fresh_process(secrets_file) == first  # the next start (or another process) agrees
    secret_key, jwt_key = first
    assert secret_key != jwt_key and len(secret_key) >= 50 and len(jwt_key) >= 50
    assert not {secret_key, jwt_key} & keys_written_in_the_repository()
    assert "django-insecure" not in secret_key
    # Another install (another data folder) has other keys.
    other = keys_of_a_fresh_process(tmp_path / "elsewhere" / ".relay-dev-secrets")
    assert not set(other) & set(first)


def test_keys_from_the_environment_win_and_production_never_reads_the_file(tmp_path):
    secrets_file = tmp_path / ".relay-dev-secrets"
    given = ("s" * 10 + "ecret-from-the-environment-0123456789", "j" * 10 + "wt-key-from-the-environment-0123456789")
    assert keys_of_a_fresh_process(secrets_file, SECRET_KEY=given[0], JWT_SIGNING_KEY=given[1]) == given
    assert not secrets_file.exists()
    assert (
        keys_of_a_fresh_process(
            secrets_file, RELAY_PRODUCTION="1", SECRET_KEY=given[0], JWT_SIGNING_KEY=given[1], ALLOWED_HOSTS="x"
        )
        == given
    )
    assert not secrets_file.exists()


def test_an_unreadable_secrets_file_stops_the_start_with_a_clear_message(tmp_path):
    secrets_file = tmp_path / ".relay-dev-secrets"
    secrets_file.write_text("{not json")
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "JWT_SIGNING_KEY", "RELAY_PRODUCTION")}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", RELAY_DEV_SECRETS_FILE=str(secrets_file))
    result = subprocess.run(
        [sys.executable, "-c", SHOW_KEYS], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Cannot read the development secrets" in result.stderr and "Delete the file" in result.stderr


@pytest.mark.parametrize("name", [".relay-dev-secrets", ".relay-dev-secrets.123.abcd.tmp"])
def test_the_secrets_file_is_ignored_by_git(name):
    result = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, capture_output=True, timeout=30)
    assert result.returncode == 0, f"{name} is not in .gitignore"
