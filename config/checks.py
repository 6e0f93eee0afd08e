"""Relay's own `check --deploy` warnings, next to Django's: what Django cannot know about this project."""

from collections.abc import Sequence
from typing import Any
from zoneinfo import available_timezones

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

MIDDLEWARE_CSP = "config.middleware.ContentSecurityPolicyMiddleware"
# HS256 wants a key of at least 256 bits; 32 random characters is the floor.
MIN_JWT_KEY_LENGTH = 32


@register(Tags.security, deploy=True)
def check_jwt_signing_key(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    key = settings.SIMPLE_JWT.get("SIGNING_KEY")
    if not isinstance(key, str):
        key = ""
    errors: list[CheckMessage] = []
    if key == settings.SECRET_KEY:
        errors.append(
            Warning(
                "JWTs are signed with SECRET_KEY.",
                hint="Set JWT_SIGNING_KEY to a random value of its own, so each secret can be rotated alone.",
                id="relay.W001",
            )
        )
    if len(key) < MIN_JWT_KEY_LENGTH or len(set(key)) < 5:
        errors.append(
            Warning(
                f"The JWT signing key is shorter than {MIN_JWT_KEY_LENGTH} characters or not random.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="relay.W002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if MIDDLEWARE_CSP not in settings.MIDDLEWARE or not getattr(settings, "CONTENT_SECURITY_POLICY", ""):
        return [
            Warning(
                "HTML pages are served without a Content-Security-Policy.",
                hint=f"Keep {MIDDLEWARE_CSP} in MIDDLEWARE and CONTENT_SECURITY_POLICY set.",
                id="relay.W003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_client_address(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if settings.REST_FRAMEWORK.get("NUM_PROXIES") is None:
        return [
            Warning(
                "Throttles trust the client's own X-Forwarded-For header (NUM_PROXIES is None).",
                hint="Set NUM_PROXIES to the number of proxies in front of Relay (0 without one).",
                id="relay.W004",
            )
        ]
    return []


@register(Tags.compatibility, deploy=True)
def check_time_zone_database(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The pages show times in each reader's zone (users.time_zones), which needs the IANA database."""
    if not available_timezones():
        return [
            Warning(
                "No IANA time zone database is installed: the pages show every time in UTC.",
                hint="Install the system's tzdata package (apt-get install tzdata) or the tzdata wheel.",
                id="relay.W005",
            )
        ]
    return []


@register(Tags.caches, deploy=True)
def check_replica_cache(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Read-your-writes (config.db_router) keeps each user's last write in the cache: across processes only
    a shared one (Redis) lets a read on one find the write made through another."""
    if getattr(settings, "DATABASE_REPLICA_URL", "") and not settings.REDIS_URL:
        return [
            Warning(
                "DATABASE_REPLICA_URL is set without REDIS_URL: a user's write through one process is not "
                "known to the others, which may read the replica before it has replayed it.",
                hint="Set REDIS_URL to the Redis every app process shares (or run one process only).",
                id="relay.W006",
            )
        ]
    return []
