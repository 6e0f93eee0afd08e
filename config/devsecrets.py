"""The secrets of a development install: generated on its first start and kept in a file beside its data.

Without `RELAY_PRODUCTION` a missing `SECRET_KEY` or `JWT_SIGNING_KEY` used to fall back to a constant
written in this repository, so anyone could sign sessions and JWTs for any development server reachable on
a network. Each install now makes its own pair once (`secrets.token_urlsafe`) and keeps it in
`RELAY_DEV_SECRETS_FILE` (`.relay-dev-secrets` in the checkout by default, ignored by git, readable by its
owner only). Every process of the install (runserver, uvicorn, a test's live server, `manage.py`) reads the
same file, so they agree; production never reads it (config/settings.py).

Read by config/settings.py only: this module imports nothing of Django's settings.
"""

import contextlib
import json
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

NAMES = ("SECRET_KEY", "JWT_SIGNING_KEY")


def development_secrets(path: Path) -> dict[str, str]:
    """`{SECRET_KEY, JWT_SIGNING_KEY}` from `path`, written there first (atomically) when it does not exist.

    Two processes starting at once both write a candidate file and link it into place; the first link wins
    and both read the winner, so they never run with different keys.
    """
    if not path.exists():
        _write_once(path, {name: secrets.token_urlsafe(50) for name in NAMES})
    try:
        values = json.loads(path.read_text())
        if not isinstance(values, dict):
            raise ValueError("not an object")
        return {name: _secret(values, name) for name in NAMES}
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"Cannot read the development secrets in {path} ({exc}). Delete the file to make new ones "
            "(every session and token ends), or set SECRET_KEY and JWT_SIGNING_KEY."
        ) from exc


def _secret(values: dict, name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or len(value) < 32:
        raise ValueError(f"{name} missing or shorter than 32 characters")
    return value


def _write_once(path: Path, values: dict[str, str]) -> None:
    candidate = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(values, file)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first: its file is kept
            os.link(candidate, path)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot write the development secrets to {path} ({exc}): set RELAY_DEV_SECRETS_FILE to a "
            "writable path, or set SECRET_KEY and JWT_SIGNING_KEY."
        ) from exc
    finally:
        candidate.unlink(missing_ok=True)
