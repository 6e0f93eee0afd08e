"""`python -m bench.scaling`: the conversation list's p50 for users with about 10, 100, 1,000 and 10,000
partners, on the dataset `python -m bench` made (DATABASE_URL), in-process, after warm-up.

Prints a markdown table (BENCHMARKS.md, "The conversation summary"): per user its partners, the messages in
its history, the median of `--runs` run medians of `--requests` requests each, and their spread.
"""

import argparse
import statistics
import time

from bench.__main__ import _setup_django


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    _setup_django()
    from django.db.models import Count, Q
    from rest_framework.test import APIClient

    from messaging.models import ConversationSummary, Message
    from users.models import User

    partners = dict(ConversationSummary.objects.values("user_id").annotate(n=Count("id")).values_list("user_id", "n"))
    if not partners:
        raise SystemExit("No conversations: run `python -m bench` first to make the dataset.")
    print("| partners (target) | user | partners | messages in history | p50 ms | spread of the run medians |")
    print("|---|---|---|---|---|---|")
    for target in (10, 100, 1_000, 10_000):
        user = User.objects.get(pk=min(partners, key=lambda pk: (abs(partners[pk] - target), pk)))
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
            f"| ~{target:,} | {user.username} | {partners[user.pk]:,} | {history:,} | "
            f"{statistics.median(medians):.2f} | {min(medians):.2f}-{max(medians):.2f} |"
        )


if __name__ == "__main__":
    main()
