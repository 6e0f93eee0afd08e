"""The import arrows point one way: `legacy_dm` -> `messaging` -> `users` (docs/architecture.md). A lower
app never imports a higher one, so `legacy_dm` can one day go with a line in settings and one in the URLs."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

LAYERS = ["users", "messaging", "legacy_dm"]  # lowest first


def _imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def _app_modules(app: str):
    for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
        if "tests" not in path.parts:
            yield path


@pytest.mark.parametrize("app", LAYERS[:-1])
def test_an_app_imports_no_app_above_it(app):
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    wrong = {
        str(path.relative_to(settings.BASE_DIR)): sorted(_imported_apps(path) & above) for path in _app_modules(app)
    }
    assert {path: apps for path, apps in wrong.items() if apps} == {}
