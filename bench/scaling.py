"""`python -m bench.scaling`: the conversation list's p50 for users with about 10, 100, 1,000 and 10,000
partners, on the dataset `python -m bench` made (DATABASE_URL), in-process, after warm-up.

Prints a markdown table (BENCHMARKS.md, "The conversation summary"): per user its partners, the messages in
its history, the median of `--runs` run medians of `--requests` requests each, and their spread.

The generated dataset's largest user has about 6,800 partners and 65,000 messages, so `--giant` adds (once)
the user issue 14's last row asks for, `giant1`: 10,000 partners and a 100,000-message history, written through
the summary's triggers like any send. On the run that adds it, `giant1` is measured right after the load and
again after `VACUUM (ANALYZE)`; the other rows are measured as the dataset is (the generator vacuums).
"""

import argparse
import statistics
import time

from bench.__main__ import _setup_django, _vacuum


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--giant", action="store_true", help="add giant1 (10,000 partners, 100,000 messages)")
    args = parser.parse_args(argv)
    _setup_django()
    from django.db import connection
    from django.db.models import Count, Q
    from rest_framework.test import APIClient

    from messaging import conversations
    from messaging.models import ConversationSummary, Message
    from users.models import User

    def row(target: str, user: User, note: str = "") -> None:
        summary = ConversationSummary.objects.filter(user=user).count()
        history = Message.objects.filter(Q(sender=user) | Q(recipient=user)).count()
        client = APIClient()
        client.force_authenticate(user)
        for _ in range(20):
            client.get("/api/messages/conversations")
        medians = []
        for _ in range(args.runs):
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                client.get("/api/messages/conversations")
                times.append((time.perf_counter() - start) * 1000)
            medians.append(statistics.median(times))
        print(
            f"| {target} | {user.username}{note} | {summary:,} | {history:,} | "
            f"{statistics.median(medians):.2f} | {min(medians):.2f}-{max(medians):.2f} |"
        )

    partners = dict(ConversationSummary.objects.values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
    if not partners:
        raise SystemExit("No conversations: run `python -m bench` first to make the dataset.")
    print("| partners (target) | user | partners | messages in history | p50 ms | spread of the run medians |")
    print("|---|---|---|---|---|---|")
    for target in (10, 100, 1_000, 10_000):
        row(f"~{target:,}", User.objects.get(pk=min(partners, key=lambda pk: (abs(partners[pk] - target), pk))))
    if args.giant:
        giant, created = User.objects.get_or_create(username=GIANT, defaults={"email": "giant1@example.com"})
        if created:
            _load_giant(connection, giant.pk)
            row("10,000 + 100k history", giant, " (right after its load)")
            conversations.settle(connection)
            _vacuum(log=lambda line: None)
        row("10,000 + 100k history", giant, " (vacuumed)")


GIANT = "giant1"
GIANT_PARTNERS = 10_000
GIANT_MESSAGES_PER_PARTNER = 10


def _load_giant(connection, giant_id: int) -> None:
    """giant1's 100,000 messages with 10,000 partners, in one INSERT ... SELECT through the summary's row
    triggers (half sent, half received, 5% of the received ones unread, a year of history)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO messaging_message (sender_id, recipient_id, body, attachment_name, attachment_content_type,
                                           created_at, read_at, hidden_reason, legacy_file_name)
            SELECT CASE WHEN m.k %% 2 = 0 THEN %(giant)s ELSE m.partner END,
                   CASE WHEN m.k %% 2 = 0 THEN m.partner ELSE %(giant)s END,
                   'scaling: message ' || m.k || ' with ' || m.partner, '', '', m.at,
                   CASE WHEN m.k %% 2 = 1 AND random() < 0.05 THEN NULL ELSE m.at + interval '5 minutes' END, '', ''
            FROM (
                SELECT p.id AS partner, k, now() - random() * interval '365 days' AS at
                FROM (SELECT id FROM users_user WHERE id <> %(giant)s ORDER BY id LIMIT %(partners)s) AS p
                CROSS JOIN generate_series(1, %(per)s) AS k
                ORDER BY at
            ) AS m
            """,
            {"giant": giant_id, "partners": GIANT_PARTNERS, "per": GIANT_MESSAGES_PER_PARTNER},
        )


if __name__ == "__main__":
    main()
