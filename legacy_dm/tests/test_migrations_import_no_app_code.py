"""`legacy_dm`'s migrations, and the private modules they use, import only Django, the standard library and
their own package: an old migration keeps meaning what it meant when app code changes.
"""

import ast
import sys
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def test_migrations_import_only_django_the_standard_library_and_their_own_package():
    allowed = {*sys.stdlib_module_names, "django"}
    found = {
        f"{path.relative_to(MIGRATIONS)}: {name}"
        for path in MIGRATIONS.rglob("*.py")
        for name in _imported(path)
        if name.split(".")[0] not in allowed and not name.startswith("legacy_dm.migrations")
    }
    assert not found


def test_the_frozen_carry_marks_unverifiable_passwords_as_users_expects():
    """The carry (frozen with its migration) and `users` (the reset page mails such users) name one marker."""
    from legacy_dm.carry import UNVERIFIABLE_PASSWORD as carried
    from users.passwords import UNVERIFIABLE_PASSWORD

    assert carried == UNVERIFIABLE_PASSWORD
