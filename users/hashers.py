"""Password hashers for users carried from the old system (its passlib hashes, checked as passlib checked them)."""

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

import bcrypt
from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, BCryptPasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class LegacyBCryptPasswordHasher(BCryptPasswordHasher):
    """The old system's bcrypt hashes (`bcrypt$$2b$...`), checked as the old service checked them.

    bcrypt reads only the first 72 bytes of a password; the old service (passlib) cut longer passwords
    there, while bcrypt 5 refuses them with an error (a 500 at login for anyone trying a long password on a
    carried account). Cutting at 72 bytes keeps both the old passwords and the login endpoint working. The
    hash is upgraded to the default hasher on the first login, as for every other carried hash.

    While the live sync runs it is also the hasher of every new password (`users.passwords`), with the
    `LEGACY_BCRYPT_ROUNDS` cost (the old service's 12 by default), so that old servers can check it.
    """

    # A property, so the cost follows the settings; django-stubs declares `rounds` a plain attribute.
    @property
    def rounds(self) -> int:  # type: ignore[override]
        return int(getattr(settings, "LEGACY_BCRYPT_ROUNDS", 12))

    # django-stubs types every hasher's salt as str; bcrypt's is bytes (Django's `BCryptSHA256PasswordHasher.salt`
    # returns `bcrypt.gensalt()`, and its `verify` passes the stored hash's bytes).
    def encode(self, password: str, salt: bytes) -> str:  # type: ignore[override]
        data = bcrypt.hashpw(password.encode()[:72], salt)
        return f"{self.algorithm}${data.decode('ascii')}"


def _ab64_decode(text: str) -> bytes:
    """passlib's "adapted base64": standard base64 with `.` for `+` and no padding."""
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _ab64_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


class PasslibPBKDF2SHA512PasswordHasher(BasePasswordHasher):
    """passlib's `pbkdf2_sha512` (`$pbkdf2-sha512$<rounds>$<salt>$<checksum>`), stored as Django's
    `pbkdf2-sha512$pbkdf2-sha512$...` (the algorithm name, then passlib's own text).

    Only carried hashes use it: it is never the default, so a successful login upgrades the hash to the
    default hasher. A malformed hash verifies as False rather than raising.
    """

    algorithm = "pbkdf2-sha512"

    def _parts(self, encoded: str) -> tuple[int, bytes, bytes]:
        algorithm, ident, rounds, salt, checksum = encoded.split("$")
        if algorithm != self.algorithm or ident != self.algorithm or not rounds.isdigit():
            raise ValueError("not a passlib pbkdf2-sha512 hash")
        return int(rounds), _ab64_decode(salt), _ab64_decode(checksum)

    def encode(self, password: str, salt: str, rounds: int = 25_000) -> str:
        checksum = hashlib.pbkdf2_hmac("sha512", password.encode(), salt.encode(), rounds)
        return f"{self.algorithm}${self.algorithm}${rounds}${_ab64_encode(salt.encode())}${_ab64_encode(checksum)}"

    def verify(self, password: str, encoded: str) -> bool:
        try:
            rounds, salt, checksum = self._parts(encoded)
        except (ValueError, binascii.Error):
            return False
        computed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds, dklen=len(checksum))
        return constant_time_compare(computed, checksum)

    def decode(self, encoded: str) -> dict[str, Any]:
        rounds, salt, checksum = self._parts(encoded)
        return {"algorithm": self.algorithm, "iterations": rounds, "salt": salt, "hash": checksum}

    def safe_summary(self, encoded: str) -> "dict[StrOrPromise, Any]":
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "iterations": decoded["iterations"],
            "salt": mask_hash(_ab64_encode(decoded["salt"])),
            "hash": mask_hash(_ab64_encode(decoded["hash"])),
        }

    def must_update(self, encoded: str) -> bool:
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Nothing to even out: these hashes are only ever verified, and upgraded on the first login."""
