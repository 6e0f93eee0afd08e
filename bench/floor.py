"""The HTTP benchmark's floors: the URLconf of the benchmark's server, Relay's URLs plus two minimal endpoints.

The app's own URLconf never includes these: only the server that `bench/http.py` starts serves them, through
`bench.floor_settings` (Relay's settings with this module as `ROOT_URLCONF`).

- `POST /bench/floor/insert`: inserts one row into `bench_floor`, a table without triggers or secondary
  indexes, with one literal INSERT: the least a write endpoint can cost on this stack. The send is reported
  as a fraction of it.
- `GET /bench/floor/constant`: answers a constant: the least an endpoint can cost. The lists are reported as
  fractions of it.

Both are DRF views under the project's `REST_FRAMEWORK` defaults, so they pay what every API view pays: the
JWT authentication (which loads the user, one query), the permission check, the JSON parser and renderer,
the middleware. `ensure_table` creates the table (the benchmark calls it before it starts the server).
"""

from django.db import connection
from django.urls import path
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as app_urls

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_floor (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT_SQL = "INSERT INTO bench_floor (user_id, body) VALUES (%s, %s) RETURNING id, created_at"


def ensure_table(*, empty: bool = True) -> None:
    """Create `bench_floor` if it is missing; `empty`: remove the rows of earlier runs."""
    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
        if empty:
            cursor.execute("TRUNCATE bench_floor RESTART IDENTITY")


class InsertFloor(APIView):
    """`{"body": "..."}` in, one row in `bench_floor`, `{"id": ..., "created_at": ...}` out (201)."""

    def post(self, request):
        body = request.data.get("body") if isinstance(request.data, dict) else None
        if not isinstance(body, str):
            return Response({"body": ["A string is required."]}, status=status.HTTP_400_BAD_REQUEST)
        with connection.cursor() as cursor:
            cursor.execute(INSERT_SQL, [request.user.pk, body])
            row_id, created_at = cursor.fetchone()
        return Response({"id": row_id, "created_at": created_at}, status=status.HTTP_201_CREATED)


class ConstantFloor(APIView):
    """The same answer for every authenticated user."""

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/floor/insert", InsertFloor.as_view()),
    path("bench/floor/constant", ConstantFloor.as_view()),
    *app_urls.urlpatterns,
]
# Error views are looked up on the root URLconf: the app's (None falls back to Django's).
handler400 = getattr(app_urls, "handler400", None)
handler403 = getattr(app_urls, "handler403", None)
handler404 = getattr(app_urls, "handler404", None)
handler500 = getattr(app_urls, "handler500", None)
