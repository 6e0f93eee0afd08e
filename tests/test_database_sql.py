"""The SQL the database runs is the SQL the migrations write down, and the migrations stand on their own.

- Every function in the `public` schema (extensions' apart) has the body the migrations' `RunSQL` last gave
  it, and every trigger is one they create, with the same table, function, timing and events. A trigger may
  be installed disabled (the live sync's, until `manage.py legacy_sync on`): only its definition counts.
- A function's SQL stands as one string literal in its migration, not assembled when the migration runs.
- No migration of the project's apps imports app code: only `django`, the standard library and its own
  migrations package, so an old migration keeps meaning what it meant.
"""

import ast
import re
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunSQL, SeparateDatabaseAndState

NAME = r'(?:"?public"?\.)?"?(\w+)"?'
CREATE_FUNCTION = re.compile(
    rf"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+{NAME}\s*\(.*?\bAS\s+(\$\w*\$)(.*?)\2", re.IGNORECASE | re.DOTALL
)
DROP_FUNCTION = re.compile(rf"DROP\s+FUNCTION\s+(?:IF\s+EXISTS\s+)?{NAME}", re.IGNORECASE)
CREATE_TRIGGER = re.compile(
    rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+{NAME}\s+(.*?)\s+ON\s+{NAME}\s+(.*?)"
    rf"EXECUTE\s+(?:FUNCTION|PROCEDURE)\s+{NAME}\s*\(",
    re.IGNORECASE | re.DOTALL,
)
DROP_TRIGGER = re.compile(rf"DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?{NAME}\s+ON\s+{NAME}", re.IGNORECASE)


def _statements(operation):
    """The forward SQL texts of a migration operation (RunSQL, also inside SeparateDatabaseAndState)."""
    if isinstance(operation, SeparateDatabaseAndState):
        for inner in operation.database_operations:
            yield from _statements(inner)
    elif isinstance(operation, RunSQL):
        sqls = [operation.sql] if isinstance(operation.sql, str) else operation.sql
        for sql in sqls:
            yield sql if isinstance(sql, str) else sql[0]  # (sql, params)


def _plan():
    """Every migration of every app, in the order `migrate` applies them from an empty database."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = []
    for leaf in loader.graph.leaf_nodes():
        plan += [key for key in loader.graph.forwards_plan(leaf) if key not in plan]
    return [loader.graph.nodes[key] for key in plan]


def _trigger_shape(timing_and_events: str, rest: str) -> tuple[str, str]:
    """(timing and events, level) of a trigger definition, whitespace and case aside."""
    level = "ROW" if re.search(r"FOR\s+EACH\s+ROW", rest, re.IGNORECASE) else "STATEMENT"
    return " ".join(timing_and_events.upper().split()), level


def written_down():
    """What the migrations, applied in order, leave defined: {function: body}, {(table, trigger): (function,
    shape)}, and {function: the migration that defines it last}."""
    functions, triggers, defined_in = {}, {}, {}
    patterns = (CREATE_FUNCTION, DROP_FUNCTION, CREATE_TRIGGER, DROP_TRIGGER)
    for migration in _plan():
        for operation in migration.operations:
            for sql in _statements(operation):
                position = 0
                while True:  # the statements in order; a function's body is skipped whole
                    found = [m for m in (p.search(sql, position) for p in patterns) if m]
                    if not found:
                        break
                    match = min(found, key=lambda m: m.start())
                    position = match.end()
                    if match.re is CREATE_FUNCTION:
                        functions[match.group(1)] = match.group(3)
                        defined_in[match.group(1)] = migration
                    elif match.re is DROP_FUNCTION:
                        functions.pop(match.group(1), None)
                    elif match.re is CREATE_TRIGGER:
                        name, timing, table, rest, function = match.groups()
                        triggers[(table, name)] = (function, _trigger_shape(timing, rest))
                    else:
                        triggers.pop((match.group(2), match.group(1)), None)
    return functions, triggers, defined_in


def installed():
    """The database's {function: body} and {(table, trigger): (function, shape)}, extensions' apart."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.proname, p.prosrc
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND NOT EXISTS (
                SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
            )
            """
        )
        functions = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT c.relname, t.tgname, p.proname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE NOT t.tgisinternal
            """
        )
        triggers = {}
        for table, name, function, definition in cursor.fetchall():
            match = CREATE_TRIGGER.match(definition)
            assert match, f"pg_get_triggerdef of {name} not understood: {definition}"
            triggers[(table, name)] = (function, _trigger_shape(match.group(2), match.group(4)))
    return functions, triggers


@pytest.mark.django_db
def test_every_installed_function_is_the_one_the_migrations_write_down():
    written, _, defined_in = written_down()
    present, _ = installed()
    mismatches = {
        "installed, written in no migration's RunSQL": sorted(present.keys() - written.keys()),
        "written in a migration, not installed": sorted(written.keys() - present.keys()),
        "installed with another body than the migration that last writes it": [
            f"{name} ({defined_in[name]})"
            for name in sorted(written.keys() & present.keys())
            if written[name] != present[name]
        ],
    }
    assert mismatches == dict.fromkeys(mismatches, [])


@pytest.mark.django_db
def test_every_installed_trigger_is_the_one_the_migrations_write_down():
    _, written, _ = written_down()
    _, present = installed()
    mismatches = {
        "installed, written in no migration's RunSQL": sorted(present.keys() - written.keys()),
        "written in a migration, not installed": sorted(written.keys() - present.keys()),
        "(function, (timing and events, level)) as written, and as installed": [
            (key, written[key], present[key])
            for key in sorted(written.keys() & present.keys())
            if written[key] != present[key]
        ],
    }
    assert mismatches == dict.fromkeys(mismatches, [])


def test_the_migrations_write_down_the_summary_functions():
    """The parse above finds what it is meant to (a parse finding nothing would compare nothing)."""
    functions, triggers, _ = written_down()
    assert {"relay_summary_refresh", "relay_summary_add", "relay_summary_on_insert"} <= functions.keys()
    assert triggers[("messaging_message", "relay_summary_insert")] == (
        "relay_summary_on_insert",
        ("AFTER INSERT", "STATEMENT"),
    )


def _string_literals(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)]


def test_a_function_is_one_string_literal_in_its_migration():
    """Each function's definition, as the database receives it, is a literal in the migration file that
    defines it: not assembled from pieces, names or app code when the migration runs."""
    functions, _, defined_in = written_down()
    assembled = []
    for name, body in functions.items():
        path = Path(sys.modules[type(defined_in[name]).__module__].__file__)
        if not any(isinstance(text, str) and body in text for text in _string_literals(path)):
            assembled.append(f"{name} ({path.name})")
    assert assembled == []


def _local_apps():
    base = Path(settings.BASE_DIR).resolve()
    return [app for app in apps.get_app_configs() if Path(app.path).resolve().parent == base]


def _resolved(module: str, level: int, path: Path, app_path: Path) -> str:
    """The absolute name of an import in the module at `path` (a relative one resolved from its package)."""
    if level == 0:
        return module
    package = list(path.resolve().relative_to(app_path.parent).with_suffix("").parts[:-1])
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def test_no_migration_imports_app_code():
    """A migration, and a private module of its package (the carry's), imports only `django`, the standard
    library and its own app's migrations package."""
    base = Path(settings.BASE_DIR).resolve()
    offending, checked = [], 0
    for app in _local_apps():
        package = f"{app.name}.migrations"
        for path in sorted((Path(app.path) / "migrations").rglob("*.py")):
            relative = path.resolve().relative_to(base).as_posix()
            checked += 1
            for node in ast.walk(ast.parse(path.read_text(), filename=relative)):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = [_resolved(node.module or "", node.level, path, Path(app.path).resolve())]
                else:
                    continue
                for module in modules:
                    root = module.split(".")[0]
                    allowed = root == "django" or root in sys.stdlib_module_names
                    allowed = allowed or module == package or module.startswith(f"{package}.")
                    if not allowed:
                        offending.append(f"{relative}:{node.lineno} imports {module}")
    assert checked > 0
    assert offending == []
