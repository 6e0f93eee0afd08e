"""Relay settings: every value that differs between machines is read from the environment here, and only here.

docs/operations.md ("Settings") lists every environment variable read here, with its default.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded_db
from config.devsecrets import development_secrets

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# RELAY_PRODUCTION=1 is the production profile (docs/operations.md, "The production profile"): every HTTPS protection on by
# default, and no start without secrets of its own. Without it the defaults suit development.
PRODUCTION = env_bool("RELAY_PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
JWT_SIGNING_KEY = os.environ.get("JWT_SIGNING_KEY", "")
# Development: a key not given is this install's own, generated once and kept beside its data
# (config/devsecrets.py); no key is written in the repository.
DEV_SECRETS_FILE = Path(os.environ.get("RELAY_DEV_SECRETS_FILE") or BASE_DIR / ".relay-dev-secrets")
if not PRODUCTION and not (SECRET_KEY and JWT_SIGNING_KEY):
    _development = development_secrets(DEV_SECRETS_FILE)
    SECRET_KEY = SECRET_KEY or _development["SECRET_KEY"]
    JWT_SIGNING_KEY = JWT_SIGNING_KEY or _development["JWT_SIGNING_KEY"]
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production (RELAY_PRODUCTION=1).")
    if not SECRET_KEY or not JWT_SIGNING_KEY or JWT_SIGNING_KEY == SECRET_KEY:
        raise ImproperlyConfigured("Production needs SECRET_KEY and a different JWT_SIGNING_KEY in the environment.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "config.apps.RelayAdminConfig",  # django.contrib.admin, with Relay's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "users",
    "messaging",
    "legacy_dm",
    "config.apps.RelayConfig",
]

MIDDLEWARE = [
    # First: every answer, redirects and refusals included, carries X-Request-ID, and every log line its id.
    "config.request_ids.RequestIdMiddleware",
    # Second: times the whole stack, by URL pattern (config/metrics.py, GET /metrics).
    "config.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: pages show times in the reader's time zone (the API and the admin in UTC).
    "users.time_zones.ReaderTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a login refused by the lockout into its answer (users.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "messaging.web.context.unread",
            ],
        },
    },
]

# PostgreSQL (psycopg 3), the only database: the server DATABASE_URL names, or else, outside production, the
# embedded server of config/embedded_db.py (started on demand, data under .relay/postgres).
if PRODUCTION and not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must name the PostgreSQL database in production (RELAY_PRODUCTION=1).")
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or embedded_db.url(),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
# A streaming replica of it (docs/operations.md, "The replica"): GET and HEAD requests read there, except a
# user's whose last write it has not replayed yet, and except while it is down or more than
# REPLICA_MAX_LAG_SECONDS behind (config/db_router.py). Unset: every query on the primary, nothing routed.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS") or 5)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
    )
    # A replica that does not answer costs a probe 2 s (libpq's shortest connect timeout), once a second per
    # process at most. One that vanishes mid-query (no answer, no reset) is dropped within about 10 s: after
    # 5 s of data sent and not acknowledged (tcp_user_timeout, ms), or 5 s idle plus two unanswered keepalives
    # 2 s apart; one that answers but is stuck ends a statement after 10 s. (PgBouncer drops the `options`
    # startup parameter where its ignore_startup_parameters lists it: set statement_timeout there instead.)
    DATABASES["replica"].setdefault("OPTIONS", {}).update(
        connect_timeout=2,
        tcp_user_timeout=5000,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=2,
        options="-c statement_timeout=10s",
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # a test run has the one test database
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
    # Before the session's: the session a login saves is one of the request's writes.
    _sessions = MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")
    MIDDLEWARE.insert(_sessions, "config.db_router.ReadRoutingMiddleware")
    # Django's, reading the session's user from the primary.
    _authentication = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    MIDDLEWARE[_authentication] = "config.db_router.AuthenticationMiddleware"
for _alias, _database in DATABASES.items():
    if _database["ENGINE"] != "django.db.backends.postgresql":
        _name = "DATABASE_URL" if _alias == "default" else "DATABASE_REPLICA_URL"
        raise ImproperlyConfigured(f"{_name} must name a PostgreSQL database, not {_database['ENGINE']}")
# PostgreSQL: parameters bound by the server and statements prepared by psycopg once a connection has run
# them 5 times, so with DB_CONN_MAX_AGE the hot queries skip PostgreSQL's parser and planner (planning cost
# more than running most of them). Queries whose best plan depends on their parameters opt out
# (config.db.planned_per_call). Off (DB_PREPARED_STATEMENTS=0) behind a pooler that can't keep them.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DB_PREPARED_STATEMENTS:
    for _database in DATABASES.values():
        _database["ENGINE"] = "config.postgresql"  # Django's, batching to the 65,535-parameter limit
        _database.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
# Email (the password reset page, the missed-message email): printed to the console unless EMAIL_URL names an
# SMTP server: smtp://user:password@host:587 (STARTTLS with smtp+tls://, TLS from the start with smtps://);
# console:// says the default out loud.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Relay <noreply@relay.invalid>")
if os.environ.get("EMAIL_URL") and os.environ["EMAIL_URL"] != "console://":
    _email = urlsplit(os.environ["EMAIL_URL"])
    if _email.scheme not in ("smtp", "smtp+tls", "smtps"):
        raise ImproperlyConfigured("EMAIL_URL must start with smtp://, smtp+tls://, smtps:// or be console://")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587 if _email.scheme == "smtp+tls" else 25)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme == "smtp+tls"
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 30)  # a stuck server must not hold a worker for ever
# The address people reach Relay at, for the links in mail sent without a request (the missed-message email).
# Production's default: HTTPS at the first of ALLOWED_HOSTS, when that is one host name (not `.example.com`, `*`).
_first_host = ALLOWED_HOSTS[0] if ALLOWED_HOSTS else ""
_site_default = (
    f"https://{_first_host}" if PRODUCTION and _first_host[:1] not in ("", ".", "*") else "http://127.0.0.1:8000"
)
SITE_URL = (os.environ.get("SITE_URL") or _site_default).rstrip("/")
# Missed-message email (messaging/notifications.py, `manage.py send_missed_message_emails`): a message unread
# this long while its recipient has no open stream is mailed about, at most one mail per conversation this often.
NOTIFY_EMAIL_AFTER_MINUTES = env_int("NOTIFY_EMAIL_AFTER_MINUTES", 10)
NOTIFY_EMAIL_EVERY_MINUTES = env_int("NOTIFY_EMAIL_EVERY_MINUTES", 60)

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

# Brute-force lockout (django-axes) of every way to log in: the login page, the admin's, /api/auth/token/.
# Failed logins are counted per (username, client address) pair and per client address (in the database,
# so every server process shares the counts); at LOGIN_FAILURE_LIMIT failures of a pair that username is
# refused from that address, at LOGIN_ADDRESS_FAILURE_LIMIT failures of an address every login from it
# (429 with Retry-After), until LOGIN_LOCKOUT_MINUTES pass without a failed attempt. No username is locked
# from everywhere (users/lockout.py).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # in this order: users.lockout.LockoutHandler
AXES_HANDLER = "users.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "config.throttles.client_address"  # the throttles' rule (NUM_PROXIES)
AXES_USERNAME_CALLABLE = "users.lockout.attempted_username"
AXES_LOCKOUT_CALLABLE = "users.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # failures are what the lockout needs; no row per successful login

# The hashers after the default accept the old system's carried hashes (bcrypt, argon2, passlib's
# pbkdf2-sha512: legacy_dm.carry.VERIFIABLE_PASSWORDS) and upgrade them to PBKDF2 on the user's next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "users.hashers.LegacyBCryptPasswordHasher",
    "users.hashers.PasslibPBKDF2SHA512PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Throttle counters (send, login, register) live in the cache. The default is per process; with several
# server processes set REDIS_URL so that every process counts against the same limits.
# A Redis that hangs costs a request at most half a second per cache call (else redis-py's 5 s, measured):
# the throttles and, with a replica, every signed-in read ask the cache.
CACHES = {
    "default": (
        {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Live events (GET /api/messages/events, messaging/broker.py): Redis Streams at REDIS_URL, shared by every
# server process; without it, an in-process broker (one process only).
REDIS_URL = os.environ.get("REDIS_URL", "")
EVENTS_RETAINED = env_int("EVENTS_RETAINED", 1000)  # events kept per user for Last-Event-ID resume
EVENTS_HEARTBEAT_SECONDS = env_int("EVENTS_HEARTBEAT_SECONDS", 15)
EVENTS_KEY_PREFIX = os.environ.get("EVENTS_KEY_PREFIX", "relay:events")  # Redis keys: <prefix>:<user id>
EVENTS_STREAMS_PER_USER = env_int("EVENTS_STREAMS_PER_USER", 10)  # past it, a user's oldest open stream ends
# A stream holds its server thread for as long as it is open: a WSGI server (gunicorn's few threads) refuses
# streams unless this is on; DEBUG's runserver (scripts/run.sh) has a thread per request and streams.
EVENTS_STREAM_ON_WSGI = env_bool("EVENTS_STREAM_ON_WSGI", DEBUG)

# /readyz (config/health.py): how long the database and Redis each have to answer before the node is not ready.
READYZ_TIMEOUT_SECONDS = float(os.environ.get("READYZ_TIMEOUT_SECONDS") or 1.5)

# --- Messaging -------------------------------------------------------------------------------------------
MESSAGING_MAX_ATTACHMENT_BYTES = env_int("MESSAGING_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
MESSAGING_MAX_BODY_CHARS = 10_000
# How long after sending its sender may edit a message (`services.edit_message`); 0: no limit.
MESSAGING_EDIT_WINDOW_SECONDS = env_int("MESSAGING_EDIT_WINDOW_SECONDS", 3600)
# How long after sending its sender may unsend a message (delete it for everyone); 0: no limit.
MESSAGING_UNSEND_WINDOW_SECONDS = env_int("MESSAGING_UNSEND_WINDOW_SECONDS", 3600)


def request_body_limit(max_attachment_bytes: int) -> int:
    """Largest request body: an attachment just under the limit, base64-encoded in JSON (4/3 of its size),
    plus the rest of the message (a 10,000-character body is at most 120 KB of JSON escapes).

    Multipart files are not counted by Django against this limit. Tests that lower the attachment limit
    derive this one with the same function.
    """
    return max_attachment_bytes * 4 // 3 + 256 * 1024


DATA_UPLOAD_MAX_MEMORY_SIZE = request_body_limit(MESSAGING_MAX_ATTACHMENT_BYTES)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "messaging.uploads.AttachmentLimitUploadHandler",  # stops an oversized upload early (413)
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Legacy data copy (legacy_dm) ------------------------------------------------------------------------
LEGACY_COPY_BATCH_SIZE = env_int("LEGACY_COPY_BATCH_SIZE", 10_000)
LEGACY_SEQUENCE_HEADROOM = env_int("LEGACY_SEQUENCE_HEADROOM", 1_000_000)
LEGACY_LOCK_TIMEOUT_MS = env_int("LEGACY_LOCK_TIMEOUT_MS", 5_000)
# bcrypt cost of passwords set while the live sync runs (users.passwords; the old service used 12)
LEGACY_BCRYPT_ROUNDS = env_int("LEGACY_BCRYPT_ROUNDS", 12)
# Unapplying legacy_dm 0001 drops the old tables; refused while they hold rows unless this is set.
LEGACY_ALLOW_DROPPING_OLD_TABLES = env_bool("LEGACY_ALLOW_DROPPING_OLD_TABLES", False)
# A process writes the legacy endpoints' call counts at most this often (legacy_dm.usage); 0: on every call.
LEGACY_USAGE_WRITE_SECONDS = env_int("LEGACY_USAGE_WRITE_SECONDS", 1)

# GET /metrics (config/metrics.py) answers only these client addresses (config.throttles.client_address), or a
# request with "Authorization: Bearer <METRICS_TOKEN>" when that is set; anyone else gets a 404.
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", "127.0.0.1,::1")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# --- REST framework --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.JWTAuthentication",  # simplejwt's, with one rule for the user id claim
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only; `POST /api/messages/send` also takes multipart (a file), and says so in its view.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "messaging.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.RelayAutoSchema",
    "DEFAULT_METADATA_CLASS": "config.metadata.NoActionsMetadata",
    "EXCEPTION_HANDLER": "messaging.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "send": os.environ.get("THROTTLE_SEND_RATE", "120/min"),
        "login": os.environ.get("THROTTLE_LOGIN_RATE", "30/min"),
        "register": os.environ.get("THROTTLE_REGISTER_RATE", "20/hour"),  # the API and the sign-up page
        "password_reset": os.environ.get("THROTTLE_PASSWORD_RESET_RATE", "10/hour"),  # per client address
        "password_reset_email": os.environ.get("THROTTLE_PASSWORD_RESET_EMAIL_RATE", "1/min"),  # per address
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles key on the client address: REMOTE_ADDR, or behind a proxy the address it saw (the
    # X-Forwarded-For entry NUM_PROXIES from the right). DRF's default (None) would believe any client's
    # own X-Forwarded-For, so a new value per request would escape the login throttle.
    "NUM_PROXIES": env_int("NUM_PROXIES", 1 if BEHIND_PROXY else 0),
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # A key of its own, so rotating SECRET_KEY (sessions, CSRF) and JWTs can be done separately.
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a keyed password version instead of simplejwt's MD5 of the password hash (users.tokens):
    # changing the password revokes them.
    "CHECK_REVOKE_TOKEN": False,
    "TOKEN_OBTAIN_SERIALIZER": "users.serializers.TokenObtainPairSerializer",
    # Refuse deleted and deactivated users' tokens on refresh and verify too (users/serializers.py).
    "TOKEN_REFRESH_SERIALIZER": "users.serializers.TokenRefreshSerializer",
    "TOKEN_VERIFY_SERIALIZER": "users.serializers.TokenVerifySerializer",
}

# A Swagger UI plugin: a token pasted into a bearer box with its "Bearer " prefix (as in a curl command) is kept
# without it, since Swagger UI adds the prefix itself; "Bearer Bearer <token>" would be a 401.
SWAGGER_UI_BEARER_PREFIX = """() => ({statePlugins: {auth: {wrapActions: {authorize: (authorize) => (auths) =>
  authorize(Object.fromEntries(Object.entries(auths).map(([name, auth]) => [name,
    auth && auth.schema && auth.schema.get("scheme") === "bearer" && typeof auth.value === "string"
      ? {...auth, value: auth.value.trim().replace(/^bearer\\s+/i, "")}
      : auth])))}}}})"""

SPECTACULAR_SETTINGS = {
    "TITLE": "Relay API",
    "DESCRIPTION": (
        "Direct messaging: the new /api/messages/* API, auth, and the deprecated legacy endpoints.\n\n"
        "To try an operation here: get a token with `POST /api/auth/token/` (`{username, password}` answers "
        "`{access, refresh}`), then **Authorize** and paste the `access` value alone into **jwtAuth**. A "
        "browser signed in to Relay's pages is already authenticated by its session cookie."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["config.schema.document_schema_paths"],
    # Nullable references in the form strict OpenAPI 3.0 validators accept (config.schema.strict_nullables);
    # the event stream, a plain async view, documented (messaging.schema.document_event_stream); the JWT
    # scheme first in /docs' Authorize dialog (config.schema.jwt_scheme_first).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.strict_nullables",
        "messaging.schema.document_event_stream",
        "config.schema.jwt_scheme_first",
    ],
    # /docs groups operations by resource (config.schema.RESOURCE_TAGS), in this order.
    "TAGS": [
        {"name": "auth", "description": "Tokens, registration and the caller's account."},
        {"name": "messages", "description": "Sending, reading, searching and deleting messages."},
        {"name": "conversations", "description": "Conversation lists, threads and the people to write to."},
        {"name": "moderation", "description": "Reporting messages and blocking people."},
        {"name": "legacy", "description": "The old service's endpoints, deprecated: each names its successor."},
    ],
    # Swagger UI's settings, as JavaScript (drf-spectacular passes a string through to /docs' script): no badge
    # from the public validator (/docs loads nothing from another origin, see its CSP), and
    # SWAGGER_UI_BEARER_PREFIX.
    # A list of plugins here replaces drf-spectacular's own, which it adds only when the schema is not public
    # (SERVE_PUBLIC, True by default).
    "SWAGGER_UI_SETTINGS": f"{{deepLinking: true, validatorUrl: null, plugins: [{SWAGGER_UI_BEARER_PREFIX}]}}",
}

# --- Security (production values come from the environment; docs/operations.md) -----------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION or (not DEBUG and env_bool("HTTPS", False)))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# The proxy probes each node's health and a scraper on the host asks for /metrics over plain HTTP, past TLS:
# those answer instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# The Content-Security-Policy of HTML responses that set none of their own (config/middleware.py).
CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
# The inbox and login pages run scripts of this origin only (messaging/static/messaging/live.js: live updates
# over /api/messages/events; timezone.js: the browser's time zone) and nothing inline: a stricter policy than
# the default (admin, error pages).
PAGES_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; img-src 'self' data:"
)
# Under DEBUG only, Django's own error pages (the yellow 404 and the traceback 500) carry their styles and
# their toggle script inline: this policy lets them render instead of showing bare HTML.
DEBUG_ERROR_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# Every line is written once, by the root's handler. Django's own logging config gives the `django` logger a
# console handler of its own under DEBUG, and that logger also propagates to the root: each warning
# ("Not Found: /x") was printed twice. Here `django` has no handler and logs at LOG_LEVEL like everything
# else. Configuring `django` resets its children, so runserver's request lines (`django.server`, INFO) get
# Django's handler and format back here, without propagating.
# LOG_FORMAT=json writes every line, runserver's request lines included, as one JSON object
# (config/logging.py); each line carries the id of the request it was written for (config/request_ids.py).
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
_json_logs = LOG_FORMAT == "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_ids.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _json_logs else "plain",
            "filters": ["request_id"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _json_logs else "django.server",
            "filters": ["request_id"],
            "level": "INFO",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
