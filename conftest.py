"""Project-wide test fixtures."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    """A fast password hasher (bcrypt stays accepted for carried users) and fresh throttle counters."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    cache.clear()
    yield
    cache.clear()
