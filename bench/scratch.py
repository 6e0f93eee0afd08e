"""A scratch PostgreSQL database for the standalone benchmarks (dropped and created again on each run)."""

import os


def scratch_database(name: str) -> str:
    """Make database `name` afresh on the server named by `BENCH_PG_URL`, point Django at it and set Django
    up; the database's URL.
    """
    import psycopg

    server = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return url
