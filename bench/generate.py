"""The benchmark dataset: 10,000 users and 1,000,000 messages in PostgreSQL, set-based (a minute, not hours).

Shape (deterministic for a given seed), that of issue 14's comparison with django-postman and pinax-messages:
- Zipf activity: the user of rank r (its id) aims at `TOP_PARTNERS * r ** -ZIPF_S` partners, at least one;
  each user starts half of its aim's conversations with partners drawn by the same Zipf weights (so active
  users are also the ones others write to), which gives about 100,000 pairs;
- `heavy1`..`heavy5` are ranks 1-5; they start `HEAVY_OWN` times their aim of conversations, with distinct
  partners, so `heavy1` has about 6,750 partners and about 64,000 messages;
- Pareto thread lengths (shape `PARETO_ALPHA`, capped), scaled so that the total is exactly `messages`: about
  10 messages per pair on average;
- the median user has 11 partners and about 100 messages; a few users with 11 partners have issue 14's 339
  (the bench's typical user is the one nearest that, `bench.inprocess.TYPICAL_MESSAGES`): 100,000 pairs
  sharing 1,000,000 messages, the heavy user's among them, leave the average thread about 10 messages long;
- one long thread (`user000006` with `user000007`, 10,000 messages) for deep cursor pages;
- 5% of messages carry an attachment of 2-8 KB (compressible text), 2% are deleted by their sender, 2% by their
  recipient, 0.1% are hidden by a moderator, 5% reply to an earlier message, the last days' messages are mostly
  unread;
- bodies are drawn from an English word list: `meeting` is common (a few % of messages), `zeppelin` rare.

`generate` logs and returns its timings, and logs the shape it made (`shape`: the number of pairs, heavy1's
partners and messages, the typical user's).

The secondary indexes of `messaging_message` are dropped during the load and recreated from their own
definitions afterwards (whatever migrations created them), then the tables are analyzed.
"""

import time

from django.db import connection, transaction

from messaging import conversations

HEAVY_USERS = 5  # heavy1..heavy5: the users of rank 1-5
TOP_PARTNERS = 5_400  # the partner aim of rank 1 (heavy1)
ZIPF_S = 0.75  # the aim of rank r is TOP_PARTNERS * r ** -ZIPF_S (the median user: about 11)
HEAVY_OWN = 1.15  # a heavy user starts this many times its aim of conversations, with distinct partners
PARETO_ALPHA = 2.0  # thread lengths: Pareto with this shape (a heavy tail), before scaling
LONGEST_THREAD = 1_000  # cap on a drawn thread's weight (the long thread below is the only one past it)
LONG_THREAD = ("user000006", "user000007", 10_000)
COMMON_WORD = "meeting"
RARE_WORD = "zeppelin"

WORDS = [
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "always",
    "am",
    "an",
    "and",
    "any",
    "are",
    "around",
    "as",
    "at",
    "away",
    "back",
    "be",
    "because",
    "been",
    "before",
    "being",
    "best",
    "better",
    "between",
    "big",
    "both",
    "but",
    "by",
    "call",
    "came",
    "can",
    "come",
    "could",
    "day",
    "did",
    "do",
    "does",
    "done",
    "down",
    "each",
    "early",
    "even",
    "every",
    "few",
    "find",
    "first",
    "for",
    "from",
    "get",
    "give",
    "go",
    "going",
    "good",
    "got",
    "great",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "home",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "know",
    "last",
    "later",
    "let",
    "like",
    "little",
    "long",
    "look",
    "lot",
    "made",
    "make",
    "many",
    "may",
    "me",
    "meeting",
    "more",
    "morning",
    "most",
    "much",
    "must",
    "my",
    "need",
    "never",
    "new",
    "next",
    "night",
    "no",
    "not",
    "now",
    "of",
    "off",
    "ok",
    "old",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "people",
    "place",
    "please",
    "plan",
    "point",
    "put",
    "quite",
    "really",
    "right",
    "said",
    "same",
    "saw",
    "say",
    "see",
    "she",
    "should",
    "show",
    "since",
    "so",
    "some",
    "soon",
    "still",
    "such",
    "sure",
    "take",
    "talk",
    "tell",
    "than",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "think",
    "this",
    "those",
    "though",
    "time",
    "to",
    "today",
    "tomorrow",
    "too",
    "two",
    "up",
    "us",
    "use",
    "very",
    "want",
    "was",
    "way",
    "we",
    "week",
    "well",
    "went",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "work",
    "would",
    "yeah",
    "year",
    "yes",
    "yet",
    "you",
    "your",
    "lunch",
    "dinner",
    "coffee",
    "project",
    "report",
    "draft",
    "review",
    "budget",
    "deadline",
    "office",
    "train",
    "flight",
    "hotel",
    "weekend",
    "birthday",
    "party",
    "movie",
    "music",
    "book",
    "game",
    "team",
    "client",
    "invoice",
    "contract",
    "launch",
    "release",
    "update",
    "ticket",
    "issue",
    "question",
    "answer",
    "idea",
    "photo",
    "video",
    "link",
    "call",
    "later",
    "maybe",
    "tonight",
    "friday",
    "monday",
    "sunday",
    "holiday",
    "vacation",
]

# Each step is timed and reported; the SQL is plain PostgreSQL so the load is a handful of set operations.
USERS_SQL = """
INSERT INTO users_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                        date_joined, display_name)
SELECT '!', false,
       CASE WHEN g <= 5 THEN 'heavy' || g ELSE 'user' || lpad(g::text, 6, '0') END,
       '', '', 'u' || g || '@bench.example', false, g %% 997 <> 0,
       now() - interval '400 days',
       CASE WHEN g %% 3 = 0 THEN '' ELSE (ARRAY['Ada','Ben','Cleo','Dan','Eve','Finn','Gus','Hana','Ivo','Jo'])[1 + g %% 10]
            || ' ' || (ARRAY['Smith','Jones','Brown','Lee','Khan','Rossi','Novak','Silva','Kim','Park'])[1 + (g / 10) %% 10]
       END
FROM generate_series(1, %(users)s) AS g
ORDER BY g
"""

# The pairs and their relative thread lengths (`weight`); `_scaled_pairs` turns weights into message counts.
# A Zipf draw of a partner is the inverse of the weights' (continuous) distribution function.
PAIRS_SQL = """
CREATE TEMP TABLE bench_pairs AS
WITH heavy AS (
    SELECT u AS a, %(heavies)s + 1 + ((k * 7919 + u * 104729) %% (%(users)s - %(heavies)s)) AS b
    FROM generate_series(1, %(heavies)s) AS u
    CROSS JOIN LATERAL generate_series(1, ceil(AIM(u) * %(heavy_own)s::float8)::int) AS k
),
drawn AS (
    SELECT u AS a,
           least(%(users)s, floor((1 + random() * (%(users)s ^ (1 - %(s)s::float8) - 1))
                                  ^ (1 / (1 - %(s)s::float8)))::int) AS b
    FROM generate_series(%(heavies)s + 1, %(users)s) AS u
    CROSS JOIN LATERAL generate_series(1, ceil(AIM(u) / 2.0)::int) AS k
),
pairs AS (
    SELECT DISTINCT least(a, b) AS lo, greatest(a, b) AS hi
    FROM (SELECT a, b FROM heavy UNION ALL SELECT a, b FROM drawn) AS p
    WHERE a <> b
)
SELECT lo, hi, least(%(longest)s::float8, (1 - random()) ^ (-1 / %(alpha)s::float8)) AS weight, 0 AS msgs
FROM pairs
ORDER BY lo, hi
""".replace("AIM(u)", "greatest(1, round(%(top)s * u ^ (-%(s)s::float8)))")  # the partner aim of rank u

MESSAGES_SQL = """
INSERT INTO messaging_message (sender_id, recipient_id, body, attachment_name, attachment_content_type,
                               attachment_size, attachment_data, created_at, updated_at, read_at,
                               sender_deleted_at, recipient_deleted_at, hidden_at, hidden_reason,
                               legacy_file_name)
SELECT CASE WHEN m.flip THEN m.hi ELSE m.lo END,
       CASE WHEN m.flip THEN m.lo ELSE m.hi END,
       bodies.body || CASE WHEN m.r_rare < 0.0002 THEN ' %(rare)s' ELSE '' END,
       CASE WHEN m.att THEN 'file-' || m.k || '.txt' ELSE '' END,
       CASE WHEN m.att THEN 'text/plain' ELSE '' END,
       CASE WHEN m.att THEN 16 * (128 + (m.k + m.hi) % 384) END,
       CASE WHEN m.att THEN decode(repeat(md5(m.k::text || '-' || m.lo), 128 + (m.k + m.hi) % 384), 'hex') END,
       m.created_at, NULL,
       CASE WHEN m.created_at > now() - interval '3 days' AND m.r_unread < 0.7 THEN NULL
            WHEN m.r_unread < 0.01 THEN NULL
            ELSE m.created_at + interval '5 minutes' END,
       CASE WHEN m.r_del < 0.02 THEN m.created_at + interval '1 day' END,
       CASE WHEN m.r_del >= 0.02 AND m.r_del < 0.04 THEN m.created_at + interval '1 day' END,
       CASE WHEN m.r_del >= 0.04 AND m.r_del < 0.041 THEN m.created_at + interval '2 days' END,
       CASE WHEN m.r_del >= 0.04 AND m.r_del < 0.041 THEN 'spam' ELSE '' END,
       ''
FROM (
    SELECT p.lo, p.hi, k, random() < 0.5 AS flip, random() AS r_rare, random() AS r_unread, random() AS r_del,
           now() - random() ^ 1.5 * interval '365 days' AS created_at,
           1 + floor(random() * %(n_bodies)s)::int AS body_n,
           (random() < 0.05) AS att
    FROM bench_pairs AS p CROSS JOIN LATERAL generate_series(1, p.msgs) AS k
) AS m
JOIN bench_bodies AS bodies ON bodies.n = m.body_n
ORDER BY m.created_at
"""


def _scaled_pairs(cursor, *, messages: int) -> None:
    """Turn the pairs' weights into message counts (at least one each) totalling exactly `messages`, the long
    thread's included.
    """
    a, b, count = LONG_THREAD
    cursor.execute(
        "DELETE FROM bench_pairs WHERE (lo, hi) = (SELECT least(x.id, y.id), greatest(x.id, y.id) "
        "FROM users_user x, users_user y WHERE x.username = %s AND y.username = %s)",
        [a, b],
    )
    budget = messages - count
    cursor.execute("SELECT sum(weight), count(*) FROM bench_pairs")
    total_weight, pairs = cursor.fetchone()
    # Every pair gets at least one message: scale the weights so that the rest of the budget is shared out.
    factor = (budget - pairs) / total_weight
    cursor.execute("UPDATE bench_pairs SET msgs = 1 + floor(weight * %s)::int", [factor])
    cursor.execute("SELECT sum(msgs) FROM bench_pairs")
    drift = budget - cursor.fetchone()[0]
    # Hand out the rounding drift, one message each, to the pairs that lost the most to rounding down.
    cursor.execute(
        "UPDATE bench_pairs SET msgs = msgs + 1 WHERE (lo, hi) IN (SELECT lo, hi FROM bench_pairs "
        "ORDER BY weight * %s - floor(weight * %s) DESC, lo, hi LIMIT %s)",
        [factor, factor, drift],
    )
    cursor.execute(
        "INSERT INTO bench_pairs SELECT least(x.id, y.id), greatest(x.id, y.id), 0, %s "
        "FROM users_user x, users_user y WHERE x.username = %s AND y.username = %s",
        [count, a, b],
    )


SHAPE_SQL = """
WITH ends AS (SELECT lo AS u, hi AS p, msgs FROM bench_pairs UNION ALL SELECT hi, lo, msgs FROM bench_pairs),
per AS (SELECT u, count(*) AS partners, sum(msgs) AS messages FROM ends GROUP BY u)
SELECT (SELECT count(*) FROM bench_pairs),
       (SELECT partners FROM per WHERE u = 1), (SELECT messages FROM per WHERE u = 1),
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY partners) FROM per),
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY messages) FROM per
        WHERE partners = (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY partners) FROM per))
"""


def shape(cursor) -> dict:
    """The dataset's shape from its pairs: pairs, heavy1's partners and messages, the median number of partners
    and the median message count of the users who have it (the typical user).
    """
    cursor.execute(SHAPE_SQL)
    pairs, heavy_partners, heavy_messages, typical_partners, typical_messages = cursor.fetchone()
    return {
        "pairs": pairs,
        "heavy1 partners": heavy_partners,
        "heavy1 messages": heavy_messages,
        "typical partners": typical_partners,
        "typical messages": typical_messages,
    }


def generate(*, users: int = 10_000, messages: int = 1_000_000, seed: float = 0.42, log=print) -> dict:
    """Empty the messaging tables and load the dataset; returns the timings of each step in seconds."""
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark dataset needs PostgreSQL: set DATABASE_URL.")
    timings = {}

    def step(name, sql, params=None):
        start = time.perf_counter()
        cursor.execute(sql, params)
        timings[name] = time.perf_counter() - start
        log(f"  {name:<28} {timings[name]:7.1f} s")

    started = time.perf_counter()
    # One transaction: a failed load leaves the database (and its indexes) as it was.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # each statement runs once: compiling it costs more than it saves
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messaging_message' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'messaging_message'::regclass)"
        )
        indexes = cursor.fetchall()
        step(
            "truncate",
            "TRUNCATE messaging_access_log, messaging_report, messaging_block, messaging_message, "
            "token_blacklist_blacklistedtoken, token_blacklist_outstandingtoken, users_user_groups, "
            "users_user_user_permissions, django_admin_log, users_user RESTART IDENTITY CASCADE",
        )
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        # The conversation summary's triggers would refresh every pair of the load one by one (without the
        # indexes): set aside, and the summary built set-based after the indexes are back.
        conversations.uninstall(connection)
        step("users", USERS_SQL, {"users": users})
        step(
            "pairs",
            PAIRS_SQL,
            {
                "users": users,
                "heavies": HEAVY_USERS,
                "top": TOP_PARTNERS,
                "s": ZIPF_S,
                "heavy_own": HEAVY_OWN,
                "alpha": PARETO_ALPHA,
                "longest": LONGEST_THREAD,
            },
        )
        _scaled_pairs(cursor, messages=messages)
        made = shape(cursor)
        log("  shape: " + ", ".join(f"{key} {value:,}" for key, value in made.items()))
        step(
            "bodies",
            "CREATE TEMP TABLE bench_bodies AS SELECT n, "
            "(SELECT string_agg(w, ' ') FROM (SELECT (%(words)s::text[])[1 + floor(random() * %(n_words)s)::int] AS w "
            " FROM generate_series(1, 3 + (n %% 17) + floor(random() * 3)::int + n * 0)) AS t) "
            "|| CASE WHEN n %% 40 = 0 THEN ' ' || %(common)s ELSE '' END AS body "
            "FROM generate_series(1, 20000) AS n",
            {"words": WORDS, "n_words": len(WORDS), "common": COMMON_WORD},
        )
        cursor.execute("CREATE INDEX ON bench_bodies (n)")
        step(
            "messages",
            MESSAGES_SQL.replace("%(rare)s", RARE_WORD).replace("%(n_bodies)s", "20000").replace("%%", "%"),
        )
        step(
            "replies (5%)",
            "UPDATE messaging_message SET reply_to_id = id - 1 - (id % 50) WHERE id % 20 = 0 AND id > 100",
        )
        # The foreign keys are deferred; check them now (CREATE INDEX refuses pending trigger events).
        step("foreign key checks", "SET CONSTRAINTS ALL IMMEDIATE")
        for name, definition in indexes:
            step(f"index {name}", definition)
        start = time.perf_counter()
        rows = conversations.rebuild(connection=connection)
        conversations.install(connection)
        timings["conversation summary"] = time.perf_counter() - start
        log(f"  {'conversation summary':<28} {timings['conversation summary']:7.1f} s  ({rows} rows)")
    with connection.cursor() as cursor:
        # Outside the transaction: VACUUM sets the visibility map that index-only scans rely on.
        step("vacuum analyze", "VACUUM ANALYZE users_user, messaging_message, messaging_conversation_summary")
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE attachment_size IS NOT NULL) FROM messaging_message")
        total, with_attachments = cursor.fetchone()
    timings["total"] = time.perf_counter() - started
    log(f"  {'total':<28} {timings['total']:7.1f} s  ({total} messages, {with_attachments} with attachments)")
    return timings
