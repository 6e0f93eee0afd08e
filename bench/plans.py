"""EXPLAIN ANALYZE of the SQL the hot endpoints really run (captured from one request each)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient


def explain_request(*, user, method: str, path: str, data=None) -> list[tuple[str, str]]:
    """`(sql, plan)` for every SELECT one request runs, with `EXPLAIN (ANALYZE, BUFFERS)` on the same data."""
    client = APIClient()
    client.force_authenticate(user)
    getattr(client, method)(path, data, format="json")  # warm the cache like the timed runs
    with CaptureQueriesContext(connection) as captured:
        getattr(client, method)(path, data, format="json")
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return plans
