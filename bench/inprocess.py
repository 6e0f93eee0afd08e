"""In-process timings of the API: DRF's APIClient with `force_authenticate`, the whole Django stack but no socket.

Every case is one request through the real URLconf, middleware, views, selectors and serializers; the SQL
query count of a request is captured with `CaptureQueriesContext`. Writes (send, mark-read) are undone after
their case so the dataset stays the same from run to run.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import Resolver404, resolve
from rest_framework.pagination import Cursor
from rest_framework.test import APIClient

from messaging.models import Message
from messaging.pagination import NewestFirstCursorPagination

from .generate import COMMON_WORD, LONG_THREAD, RARE_WORD
from .measure import time_call

User = get_user_model()

# Cases whose latency targets the issue sets (p50 <= 15 ms, p99 <= 50 ms in-process).
TARGET_GROUPS = ("conversations", "thread", "unread-count", "search")
TARGET_P50_MS = 15
TARGET_P99_MS = 50
DEEP_CURSOR_POSITION = 5000
TYPICAL_MESSAGES = 339  # issue 14's typical user: the median number of partners (11) and 339 messages


@dataclass
class Subjects:
    """The users and conversations the cases run as (chosen from the data, deterministically)."""

    heavy: object
    typical: object
    typical_partner: object
    long_a: object
    long_b: object
    deep_cursor: str
    unread_pairs: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def choose_subjects() -> Subjects:
    heavy = User.objects.get(username="heavy1")
    with connection.cursor() as cursor:
        # The typical user, issue 14's: an active user with the median number of partners whose history is
        # nearest TYPICAL_MESSAGES messages (lowest id among equals).
        cursor.execute(
            """
            WITH pairs AS (
                SELECT sender_id AS u, recipient_id AS p, count(*) AS n FROM messaging_message GROUP BY 1, 2
            ), ends AS (SELECT u, p, n FROM pairs UNION ALL SELECT p, u, n FROM pairs),
            per AS (SELECT u, count(DISTINCT p) AS partners, sum(n) AS messages FROM ends GROUP BY u)
            SELECT per.u, per.partners, per.messages
            FROM per JOIN users_user ON users_user.id = per.u
            WHERE users_user.is_active AND users_user.username LIKE 'user%%'
              AND per.partners = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY partners) FROM per)
              AND per.u > 7
            ORDER BY abs(per.messages - %s), per.u LIMIT 1
            """,
            [TYPICAL_MESSAGES],
        )
        typical_id, typical_partners, _ = cursor.fetchone()
        cursor.execute(
            """
            SELECT CASE WHEN sender_id = %s THEN recipient_id ELSE sender_id END AS partner, count(*)
            FROM messaging_message JOIN users_user ON users_user.id = CASE WHEN sender_id = %s
                 THEN recipient_id ELSE sender_id END
            WHERE (sender_id = %s OR recipient_id = %s) AND users_user.is_active
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1
            """,
            [typical_id] * 4,
        )
        partner_id, thread_length = cursor.fetchone()
        # Conversations with unread messages, for mark-conversation-read (one per run).
        cursor.execute(
            """
            SELECT recipient_id, sender_id FROM messaging_message
            WHERE read_at IS NULL AND recipient_deleted_at IS NULL AND hidden_at IS NULL
            GROUP BY 1, 2 ORDER BY min(id) LIMIT 300
            """
        )
        unread_pairs = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM messaging_message WHERE sender_id = %s OR recipient_id = %s", [heavy.pk] * 2
        )
        heavy_messages = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(DISTINCT CASE WHEN sender_id = %s THEN recipient_id ELSE sender_id END) "
            "FROM messaging_message WHERE sender_id = %s OR recipient_id = %s",
            [heavy.pk] * 3,
        )
        heavy_partners = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM messaging_message WHERE sender_id = %s OR recipient_id = %s", [typical_id] * 2
        )
        typical_messages = cursor.fetchone()[0]
    long_a = User.objects.get(username=LONG_THREAD[0])
    long_b = User.objects.get(username=LONG_THREAD[1])
    deep = (
        Message.objects.between(long_a, long_b).visible_to(long_a).order_by("-created_at", "-id")[DEEP_CURSOR_POSITION]
    )
    paginator = NewestFirstCursorPagination()
    paginator.base_url = f"/api/messages/with/{long_b.pk}"
    deep_cursor = paginator.encode_cursor(Cursor(offset=0, reverse=False, position=str(deep.created_at)))
    typical = User.objects.get(pk=typical_id)
    return Subjects(
        heavy=heavy,
        typical=typical,
        typical_partner=User.objects.get(pk=partner_id),
        long_a=long_a,
        long_b=long_b,
        deep_cursor=deep_cursor,
        unread_pairs=unread_pairs,
        facts={
            "heavy": f"{heavy.username} ({heavy_partners} partners, {heavy_messages} messages)",
            "typical": f"{typical.username} ({typical_partners} partners, the median; {typical_messages} messages)",
            "thread": f"{typical.username} with its busiest partner ({thread_length} messages)",
            "deep thread": f"{long_a.username} with {long_b.username}, cursor {DEEP_CURSOR_POSITION} messages deep",
        },
    )


@dataclass
class Case:
    group: str
    name: str
    method: str
    path: str
    user: object
    data: object = None
    expect: int = 200
    iterations: int = 200
    per_run: object = None  # callable(i) -> (user, path) for cases that move on each run
    legacy: bool = False


def _resolves(path: str) -> bool:
    try:
        resolve(path.split("?", 1)[0])
        return True
    except Resolver404:
        return False


def relay_cases(s: Subjects) -> list[Case]:
    pairs = s.unread_pairs
    users_by_id = {u.pk: u for u in User.objects.filter(pk__in={r for r, _ in pairs})}
    return [
        Case("conversations", "conversations (heavy user)", "get", "/api/messages/conversations", s.heavy),
        Case("conversations", "conversations (typical user)", "get", "/api/messages/conversations", s.typical),
        Case("thread", "thread first page", "get", f"/api/messages/with/{s.typical_partner.pk}", s.typical),
        Case("thread", "thread deep cursor page", "get", s.deep_cursor, s.long_a),
        Case("unread-count", "unread-count (heavy user)", "get", "/api/messages/unread-count", s.heavy),
        Case("unread-count", "unread-count (typical user)", "get", "/api/messages/unread-count", s.typical),
        Case(
            "search",
            f"search common word '{COMMON_WORD}' (typical)",
            "post",
            "/api/messages/search",
            s.typical,
            {"query": COMMON_WORD},
        ),
        Case(
            "search",
            f"search common word '{COMMON_WORD}' (heavy)",
            "post",
            "/api/messages/search",
            s.heavy,
            {"query": COMMON_WORD},
        ),
        Case(
            "search",
            f"search rare word '{RARE_WORD}' (heavy)",
            "post",
            "/api/messages/search",
            s.heavy,
            {"query": RARE_WORD},
        ),
        Case(
            "participants",
            "participants ?search=ada (typical)",
            "get",
            "/api/messages/participants?search=ada",
            s.typical,
        ),
        Case(
            "participants", "participants ?search=ada (heavy)", "get", "/api/messages/participants?search=ada", s.heavy
        ),
        Case(
            "send",
            "send",
            "post",
            "/api/messages/send",
            s.typical,
            {"recipient_id": s.typical_partner.pk, "body": "bench: see you at the meeting tomorrow"},
            expect=201,
        ),
        Case(
            "mark-read",
            "mark-conversation-read",
            "put",
            "",
            None,
            iterations=min(200, len(pairs) - 10),
            per_run=lambda i: (users_by_id[pairs[i][0]], f"/api/messages/mark-conversation-read/{pairs[i][1]}"),
        ),
    ]


def legacy_cases(s: Subjects) -> tuple[list[Case], list[str]]:
    """The legacy endpoints that resolve in this build (they are added by the legacy API work)."""
    wanted = [
        Case(
            "conversations",
            "legacy GET direct-messages/conversations (heavy)",
            "get",
            "/api/direct-messages/conversations",
            s.heavy,
            legacy=True,
        ),
        Case(
            "conversations",
            "legacy GET direct-messages/conversations (typical)",
            "get",
            "/api/direct-messages/conversations",
            s.typical,
            legacy=True,
        ),
        Case(
            "thread",
            "legacy GET direct-messages/conversation/{id} (limit 50)",
            "get",
            f"/api/direct-messages/conversation/{s.typical_partner.pk}?skip=0&limit=50",
            s.typical,
            legacy=True,
        ),
        Case(
            "unread-count",
            "legacy GET direct-messages/unread-count (heavy)",
            "get",
            "/api/direct-messages/unread-count",
            s.heavy,
            legacy=True,
        ),
        Case(
            "send",
            "legacy POST direct-messages/",
            "post",
            "/api/direct-messages/",
            s.typical,
            {"receiver_id": s.typical_partner.pk, "content": "bench: legacy hello"},
            expect=201,
            legacy=True,
        ),
        Case(
            "mark-read",
            "legacy PUT direct-messages/conversation/{id}/read",
            "put",
            f"/api/direct-messages/conversation/{s.typical_partner.pk}/read",
            s.typical,
            legacy=True,
        ),
        Case(
            "conversations",
            "legacy GET messaging/conversations (heavy)",
            "get",
            "/api/messaging/conversations",
            s.heavy,
            legacy=True,
        ),
        Case(
            "conversations",
            "legacy GET messaging/conversations (typical)",
            "get",
            "/api/messaging/conversations",
            s.typical,
            legacy=True,
        ),
    ]
    cases = [case for case in wanted if _resolves(case.path)]
    notes = [f"skipped (URL does not resolve in this build): {case.name}" for case in wanted if case not in cases]
    if _resolves("/api/messaging/conversations/1/messages") and _resolves("/api/messaging/conversations"):
        client = APIClient()
        client.force_authenticate(s.typical)
        rows = client.get("/api/messaging/conversations").json()
        rows = rows.get("results", rows) if isinstance(rows, dict) else rows
        if rows:
            cases.append(
                Case(
                    "thread",
                    "legacy GET messaging/conversations/{id}/messages (limit 50)",
                    "get",
                    f"/api/messaging/conversations/{rows[0]['id']}/messages?skip=0&limit=50",
                    s.typical,
                    legacy=True,
                )
            )
    else:
        notes.append("skipped (URL does not resolve in this build): legacy GET messaging/conversations/{id}/messages")
    return cases, notes


def run_case(case: Case, *, quick: bool = False) -> dict:
    client = APIClient()
    errors = []

    def call(i):
        user, path = case.per_run(i) if case.per_run else (case.user, case.path)
        client.force_authenticate(user)
        response = getattr(client, case.method)(path, case.data, format="json")
        if response.status_code != case.expect:
            errors.append(f"{response.status_code} {response.content[:200]!r}")

    before = Message.objects.order_by("-id").values_list("id", flat=True).first()
    unread_ids = []
    if case.group == "mark-read":
        unread_ids = list(Message.objects.filter(read_at__isnull=True).values_list("id", flat=True))
    try:
        iterations = min(case.iterations, 30) if quick else case.iterations
        result = time_call(call, iterations=iterations, warmup=3, budget_s=3 if quick else 8)
    finally:
        # Undo the writes: the dataset must be the same for the next case and the next run.
        Message.objects.filter(id__gt=before).delete()
        if unread_ids:
            Message.objects.filter(id__in=unread_ids, read_at__isnull=False).update(read_at=None, updated_at=None)
    result["errors"] = len(errors)
    result["first_error"] = errors[0] if errors else ""
    return result
