"""Password hashers for users carried from the old system."""

from django.contrib.auth.hashers import BCryptPasswordHasher


class LegacyBCryptPasswordHasher(BCryptPasswordHasher):
    """The old system's bcrypt hashes (`bcrypt$$2b$...`), checked as the old service checked them.

    bcrypt reads only the first 72 bytes of a password; the old service (passlib) cut longer passwords
    there, while bcrypt 5 refuses them with an error (a 500 at login for anyone trying a long password on a
    carried account). Cutting at 72 bytes keeps both the old passwords and the login endpoint working. The
    hash is upgraded to the default hasher on the first login, as for every other carried hash.
    """

    def encode(self, password, salt):
        bcrypt = self._load_library()
        data = bcrypt.hashpw(password.encode()[:72], salt)
        return f"{self.algorithm}${data.decode('ascii')}"
