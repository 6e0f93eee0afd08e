"""Writes on users."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .display_names import clean_display_name
from .extensions import username_refusals
from .models import User
from .time_zones import clean_time_zone
from .tokens import RefreshToken
from .usernames import TAKEN, username_refusal, username_skeleton


def register_user(*, username: str, email: str, password: str, display_name: str = "") -> User:
    """Create an active user with a hashed password.

    The serializer checks that the username is free regardless of case and of look-alike characters
    (`users.usernames`), but two registrations of `Alice` and `a1ice` at once would both pass that check,
    and the unique constraint only tells exact names apart (it cannot be made case-insensitive: the old
    service's table may hold both). So the check runs again inside the transaction that inserts, with
    registrations of names of one skeleton serialised by a transaction-level advisory lock on the skeleton.
    The loser gets the same field error as a taken name.
    """
    _check_other_apps_username_rules(username)
    user = User(username=username, email=email, display_name=_display_name(display_name))
    user.set_password(password)
    try:
        with transaction.atomic():
            _serialise_registrations_of(username)
            if refusal := username_refusal(username):
                raise ValidationError({"username": [refusal]})
            user.save()
    except IntegrityError:
        raise ValidationError({"username": [TAKEN]}) from None
    return user


def update_profile(
    *,
    user: User,
    display_name: str | None = None,
    read_receipts: bool | None = None,
    time_zone: str | None = None,
    email_notifications: bool | None = None,
) -> User:
    """Change the caller's display name and settings; only what is given changes."""
    changes: dict[str, object] = {}
    if display_name is not None:
        changes["display_name"] = _display_name(display_name)
    if read_receipts is not None:
        changes["read_receipts"] = read_receipts
    if time_zone is not None:
        changes["time_zone"] = _time_zone(time_zone)
    if email_notifications is not None:
        changes["email_notifications"] = email_notifications
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        user.save(update_fields=list(changes))
    return user


def _display_name(value: str) -> str:
    """`users.display_names.clean_display_name`, its error reported on the field."""
    try:
        return clean_display_name(value)
    except ValidationError as exc:
        raise ValidationError({"display_name": exc.messages}) from None


def _time_zone(value: str) -> str:
    """`users.time_zones.clean_time_zone`, its error reported on the field."""
    try:
        return clean_time_zone(value)
    except ValidationError as exc:
        raise ValidationError({"time_zone": exc.messages}) from None


def _check_other_apps_username_rules(username: str) -> None:
    """Rules other apps add (`users.extensions`): while the live sync runs, a new user is mirrored to the old
    `users` table, whose names are shorter."""
    refusals = username_refusals(connection, username)
    if refusals:
        raise ValidationError({"username": refusals})


def _serialise_registrations_of(username: str) -> None:
    """Registrations of names with one skeleton (`alice`, `ALICE`, `a1ice`) wait for each other."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [username_skeleton(username)])


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every refresh token of `user` that is not yet blacklisted; how many were.

    Called by `User.save` when the password changed, wherever it changed (the admin's form, `set_password`
    anywhere): the old password's sessions end with it.
    """
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    # ignore_conflicts: a token rotated or logged out at the same moment is blacklisted either way.
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live.only("pk")], ignore_conflicts=True
    )
    return len(created)


def rotate_refresh_token(*, refresh: RefreshToken, user: User) -> dict[str, str]:
    """`{"access"}` from a valid refresh token, and with rotation `{"refresh"}`: its one heir.

    With BLACKLIST_AFTER_ROTATION the token is spent by an insert into the blacklist that only one request
    can make (the blacklist's one-to-one key): of many requests racing with one token, one rotates it and
    the others are refused, as a later reuse is. simplejwt's own `blacklist()` uses `get_or_create`, which
    lets every racer "blacklist" the token and each mint a live chain.
    """
    if jwt_settings.ROTATE_REFRESH_TOKENS and jwt_settings.BLACKLIST_AFTER_ROTATION:
        with transaction.atomic():
            outstanding, _ = OutstandingToken.objects.get_or_create(
                jti=refresh[jwt_settings.JTI_CLAIM],
                defaults={
                    "user": user,
                    "token": str(refresh),
                    "created_at": refresh.current_time,
                    "expires_at": datetime_from_epoch(refresh["exp"]),
                },
            )
            _, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not spent_now:
            raise TokenError("Token is blacklisted")
    tokens = {"access": str(refresh.access_token)}
    if jwt_settings.ROTATE_REFRESH_TOKENS:
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
        tokens["refresh"] = str(refresh)
    return tokens
