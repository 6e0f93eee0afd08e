"""A minimal Django project with one competitor app (django-postman or pinax-messages) on its own database.

Used only by `bench/competitors/run.py` in the bench virtualenvs (`bench/setup_competitors.sh`); never by Relay.
`BENCH_COMPETITOR` picks the app (`postman` or `pinax`); `COMPETITORS_DATABASE_URL` is the database.
"""

import os
from urllib.parse import urlsplit

COMPETITOR = os.environ.get("BENCH_COMPETITOR", "postman")
_url = urlsplit(
    os.environ.get(
        "COMPETITORS_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/relay_bench6_competitors_{COMPETITOR}"
    )
)

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sites",
    "postman" if COMPETITOR == "postman" else "pinax.messages",
]
SITE_ID = 1
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": _url.port or 5432,
    }
}
# The database options Relay runs with (config/settings.py, DB_PREPARED_STATEMENTS): server-side parameters and
# prepared statements, where the app's Django can use them (psycopg 3; pinax's Django 3.2 speaks psycopg2).
# Set BENCH_COMPETITORS_PREPARED=0 to time the apps with Django's defaults instead.
if COMPETITOR == "postman" and os.environ.get("BENCH_COMPETITORS_PREPARED", "1") != "0":
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
POSTMAN_AUTO_MODERATE_AS = True

# postman's pages (bench/thread_page.py times its conversation page): the request stack of Django's own
# `startproject`, postman's URLs (bench/competitors/urls.py) and the site-level base.html its templates extend
# (bench/competitors/templates/). Its pages are only served in process, through Django's test client.
if COMPETITOR == "postman":
    INSTALLED_APPS += ["django.contrib.sessions", "django.contrib.messages"]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    ROOT_URLCONF = "bench.competitors.urls"
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        },
    ]
    STATIC_URL = "static/"
    ALLOWED_HOSTS = ["testserver"]
    # Connections kept from request to request, as Relay's side of that bench runs (DB_CONN_MAX_AGE).
    DATABASES["default"]["CONN_MAX_AGE"] = 600
