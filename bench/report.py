"""The table printed by `python -m bench` and the markdown it writes into BENCHMARKS.md."""

from pathlib import Path

from .inprocess import TARGET_GROUPS, TARGET_P50_MS, TARGET_P99_MS
from .measure import time_call

# Issue 27: the send at least half its floor (the authenticated insert), the lists at least 0.6 of theirs (the
# authenticated GET of a constant), in the same run.
FLOOR_TARGETS = {
    "send": 0.5,
    "conversations (typical user)": 0.6,
    "legacy direct-messages/conversations (typical user)": 0.6,
    "legacy messaging/conversations (typical user)": 0.6,
}
COMPETITOR_TARGET_RATIO = 3.0
THREAD_TARGET_RATIO = 1.5  # issue 14: the typical thread page faster than postman's


def _target(case, result) -> str:
    if case.group not in TARGET_GROUPS:
        return ""
    met = result["p50"] <= TARGET_P50_MS and result["p99"] <= TARGET_P99_MS and not result["errors"]
    return "met" if met else "**missed**"


def format_row(case, result) -> str:
    target = _target(case, result).replace("*", "")
    errors = f"  errors {result['errors']}: {result['first_error']}" if result["errors"] else ""
    return (
        f"{case.name:<58} p50 {result['p50']:8.2f}  p95 {result['p95']:8.2f}  p99 {result['p99']:8.2f} ms"
        f"  cpu {result['cpu_p50']:6.2f}  queries {result['queries']:>3}  runs {result['runs']:>3}  {target}{errors}"
    )


def relay_reference(subjects, *, quick: bool) -> dict:
    """Relay's selectors doing what the competitors' timed querysets do (no HTTP, no serialization)."""
    from messaging import selectors

    def inbox(user):
        def call(i):
            return selectors.conversations_page(user=user, offset=0, limit=20)

        return call

    iterations = 30 if quick else 200
    results = {}
    for label, user in (("heavy", subjects.heavy), ("typical", subjects.typical)):
        results[f"inbox ({label})"] = time_call(inbox(user), iterations=iterations, budget_s=8)
        results[f"unread ({label})"] = time_call(
            lambda i, u=user: selectors.unread_count(user=u), iterations=iterations, budget_s=5
        )
    for key, a, b in (
        ("thread", subjects.long_a, subjects.long_b),
        ("thread (typical)", subjects.typical, subjects.typical_partner),
    ):
        results[key] = time_call(
            lambda i, a=a, b=b: selectors.thread_page(user=a, other=b, newest_first=True, offset=0, limit=51),
            iterations=iterations,
            budget_s=5,
        )
    return results


def _ms(value) -> str:
    return f"{value:.2f}"


def _fraction(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _cpu(value) -> str:
    return "" if value is None else f"{value:.2f}"


def http_row(name: str, h: dict) -> tuple:
    """One row of the HTTP table: a load's numbers from `bench.http.run_http`."""
    target = FLOOR_TARGETS.get(name)
    if target is None:
        verdict = "(the floor)" if h["floor"] is None else ""
    else:
        ok = h["fraction_of_floor"] is not None and h["fraction_of_floor"] >= target
        ok = ok and not h["non_2xx"] and not h["socket_errors"]
        verdict = f">= {target}: " + ("met" if ok else "**missed**")
    return (
        name,
        f"{h['requests_per_s']:.0f}",
        _fraction(h["fraction_of_floor"]) or "1",
        verdict,
        _ms(h["p50_ms"]),
        _ms(h["p99_ms"]),
        _cpu(h["worker_cpu_ms_per_request"]),
        _cpu(h["database_cpu_ms_per_request"]),
        h["non_2xx"],
        h["socket_errors"],
    )


def _table(header, rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _comparison_rows(competitors, relay_reference):
    rows = []
    for app in ("postman", "pinax"):
        data = competitors.get(app, {})
        if "results" not in data:
            continue
        for key in (
            "inbox (heavy)",
            "inbox (typical)",
            "thread",
            "thread (typical)",
            "unread (heavy)",
            "unread (typical)",
        ):
            theirs, ours = data["results"].get(key), relay_reference.get(key)
            if not theirs or not ours:
                continue
            ratio = theirs["p50"] / ours["p50"]
            rows.append((app, key, theirs, ours, ratio))
    return rows


def summary(*, rows, http, competitors, relay_reference) -> str:
    lines = ["Targets:"]
    missed = [case.name for case, result in rows if _target(case, result) == "**missed**"]
    lines.append(
        f"  in-process p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms: "
        + ("met for every measured case" if not missed else "missed for " + "; ".join(missed))
    )
    for name in http.get("loads", []):
        h = http[name]
        target = FLOOR_TARGETS.get(name)
        if target is None:
            continue
        fraction = h["fraction_of_floor"]
        ok = fraction is not None and fraction >= target and not h["non_2xx"] and not h["socket_errors"]
        lines.append(
            f"  HTTP {name}: {h['requests_per_s']:.0f} req/s, {_fraction(fraction)} of its floor, {h['non_2xx']} "
            f"non-2xx, {h['socket_errors']} socket errors: {'met' if ok else 'MISSED'} (>= {target} of the floor)"
        )
    for app, key, theirs, ours, ratio in _comparison_rows(competitors, relay_reference):
        if key.startswith("inbox"):
            verdict = "met" if ratio >= COMPETITOR_TARGET_RATIO else "MISSED"
            lines.append(
                f"  vs {app} {key}: {theirs['p50']:.2f} ms / {ours['p50']:.2f} ms = {ratio:.1f}x ({verdict}, target >= 3x)"
            )
        elif key == "thread (typical)":
            verdict = "met" if ratio >= THREAD_TARGET_RATIO else "MISSED"
            lines.append(
                f"  vs {app} {key}: {theirs['p50']:.2f} ms / {ours['p50']:.2f} ms = {ratio:.1f}x, queries "
                f"{theirs['queries']} / {ours['queries']} ({verdict}, target >= {THREAD_TARGET_RATIO}x)"
            )
    return "\n".join(lines)


def render(
    *, command, when, machine, generation, subjects, rows, notes, plans, http, competitors, relay_reference, elapsed
) -> str:
    out = [
        "## Benchmark results (python -m bench)",
        "",
        f"Produced by `{command.strip()}` on {when} ({elapsed / 60:.1f} minutes).",
        'Regenerate with the same command (docs/development.md, "Benchmarks"); everything between the markers is rewritten.',
        "",
        "### Machine",
        "",
        *[f"- {key}: {value}" for key, value in machine.items()],
        "",
        "### Dataset",
        "",
        "10,000 users and 1,000,000 messages made by `bench/generate.py` (set-based `INSERT ... SELECT",
        "generate_series`, secondary indexes dropped during the load and rebuilt after), issue 14's shape: Zipf",
        "activity (about 100,000 pairs; `heavy1` with about 6,750 partners and 64,000 messages, the median user",
        "with 11 partners), Pareto thread lengths, one 10,000-message thread; 5% with a 2-8 KB attachment, 2%",
        "deleted by the sender, 2% by the recipient, 0.1% hidden, recent messages mostly unread.",
        "",
        *[f"- {key}: {value}" for key, value in subjects.facts.items()],
    ]
    if generation:
        out += ["", "Generation timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in generation.items())]
    out += [
        "",
        "### In-process latency and SQL queries",
        "",
        "One request each through the whole Django stack (DRF `APIClient` with `force_authenticate`: URLconf,",
        "middleware, view, selectors, serializers; no socket), after warm-up; the query count is that of one",
        f"request (`CaptureQueriesContext`). Target for conversations, thread, unread-count and search: p50 <= "
        f'{TARGET_P50_MS} ms and p99 <= {TARGET_P99_MS} ms. Writes are undone after their case. "Python CPU" is',
        "the CPU time of the Django process per request (without PostgreSQL's): when the machine is shared, wall",
        "time includes waiting for a core (see the load average above) and this column does not.",
        "",
    ]
    table = []
    for case, result in rows:
        table.append(
            (
                case.name,
                _ms(result["p50"]),
                _ms(result["p95"]),
                _ms(result["p99"]),
                _ms(result["cpu_p50"]),
                result["queries"],
                result["runs"],
                result["errors"],
                _target(case, result),
            )
        )
    out += _table(
        ("endpoint", "p50 ms", "p95 ms", "p99 ms", "Python CPU p50 ms", "queries", "runs", "errors", "target"), table
    )
    if notes:
        out += ["", *[f"- {note}" for note in notes]]

    out += ["", "### HTTP throughput (gunicorn, 2 workers, wrk on loopback), as fractions of the floors", ""]
    if "skipped" in http:
        out.append(f"Skipped: {http['skipped']}.")
    else:
        out += [
            f"Server: `{http['command']}` (`DB_CONN_MAX_AGE=600`, send throttle raised for the run), with",
            f"`DJANGO_SETTINGS_MODULE={http['settings']}`: the app's URLs plus two floors (`bench/floor.py`), DRF",
            "views on the same stack (JWT authentication, permission, parser, middleware): an authenticated insert",
            "of one row into a table without triggers, and an authenticated GET of a constant. The send is a",
            "fraction of the first, the reads of the second, in the same run (issue 27's targets: the send >= 0.5,",
            f"the lists >= 0.6). Load: `wrk -t2 -c{http['connections']} -d{http['duration_s']}s` per endpoint with",
            "the typical user's JWT (`bench/wrk/*.lua`), one after the other in the order of the table. CPU per",
            "request: gunicorn's workers, and PostgreSQL's backends for this database (read from /proc). wrk,",
            "gunicorn and PostgreSQL share the same cores.",
            "",
        ]
        out += _table(
            (
                "endpoint",
                "req/s",
                "fraction of its floor",
                "target",
                "p50 ms",
                "p99 ms",
                "gunicorn CPU ms/request",
                "PostgreSQL CPU ms/request",
                "non-2xx",
                "socket errors",
            ),
            [http_row(name, http[name]) for name in http["loads"]],
        )
        if http.get("skipped_loads"):
            out += ["", "Not served by this build: " + ", ".join(http["skipped_loads"]) + "."]

    out += ["", "### Side by side: django-postman and pinax-messages on the same data", ""]
    if "skipped" in competitors:
        out.append(f"Skipped: {competitors['skipped']}.")
    else:
        for app in ("postman", "pinax"):
            data = competitors.get(app, {})
            if "error" in data:
                out.append(f"- {app}: failed: `{data['error']}`")
            elif data:
                versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
                out.append(f"- {app}: {versions}, database `{data['database']}`")
        out += [
            "",
            "Each app runs in its own virtualenv (`bench/setup_competitors.sh`) against its own database, loaded",
            "from Relay's by `COPY` (`bench/competitors/run.py`). Timed are the apps' own querysets, as their views",
            "use them: postman `Message.objects.inbox(user)` (count + first page of 20, conversation mode),",
            "`Message.objects.thread(user, Q(thread=...))` (the whole thread: postman does not paginate it),",
            "`inbox_unread_count(user)`; pinax `Thread.ordered(Thread.inbox(user))` with `latest_message` (what its",
            "inbox view renders), `thread.messages.all()`, `Thread.unread(user).count()`. Relay's side is its",
            "selectors doing the same (no HTTP, no serialization): `conversations_page` of 20 (the page, its last",
            'messages and the count, as the API reads them); `thread_page(..., limit=51)` (a cursor page of 50 as the paginator reads it); `unread_count`. "thread" is the',
            "10,000-message one, \"thread (typical)\" the typical user's with its busiest partner (issue 14's target:",
            ">= 1.5x postman). Ratio = their p50 / Relay's p50.",
            "",
        ]
        table = []
        for app, key, theirs, ours, ratio in _comparison_rows(competitors, relay_reference):
            target = ""
            if key.startswith("inbox"):
                target = "met" if ratio >= COMPETITOR_TARGET_RATIO else "**missed**"
            elif key == "thread (typical)":
                target = "met" if ratio >= THREAD_TARGET_RATIO else "**missed**"
            table.append(
                (
                    app,
                    key,
                    _ms(theirs["p50"]),
                    _ms(theirs["p99"]),
                    theirs["queries"],
                    _ms(ours["p50"]),
                    _ms(ours["p99"]),
                    ours["queries"],
                    f"{ratio:.1f}x",
                    target,
                )
            )
        out += _table(
            (
                "app",
                "operation",
                "their p50 ms",
                "their p99 ms",
                "their queries",
                "Relay p50 ms",
                "Relay p99 ms",
                "Relay queries",
                "ratio",
                "target >= 3x (inbox)",
            ),
            table,
        )

    if plans:
        out += [
            "",
            "### Query plans (EXPLAIN ANALYZE, BUFFERS) on the 1M dataset",
            "",
            "Every SELECT of one request, captured and explained on the same data.",
            "",
        ]
        for title, queries in plans.items():
            out += [f"#### {title}", ""]
            for sql, plan in queries:
                out += ["```sql", sql, "```", "```", plan, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def write(path: Path, text: str, *, start: str, end: str) -> None:
    """Replace the text between the markers (or append it), leaving the rest of the file alone."""
    block = f"{start}\n{text}{end}\n"
    if not path.exists():
        path.write_text("# Benchmarks\n\n" + block)
        return
    current = path.read_text()
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        path.write_text(head + block + ("\n" + tail if tail else ""))
    else:
        path.write_text(current.rstrip("\n") + "\n\n" + block)
