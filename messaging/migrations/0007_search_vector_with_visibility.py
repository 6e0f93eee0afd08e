"""The stored search vector also names who may see each message, on PostgreSQL only.

`messaging_message.search_tsv` replaces 0006's `body_tsv`: the body's full-text vector as before, plus one
lexeme per user the message is visible to (`vis <user id>` for the sender unless they deleted it, and for the
recipient unless they deleted it; none once a moderator hides it). A search then asks the GIN index for the
query's words AND the searcher's lexeme, and the index intersects the two itself: a common word searched by a
user with 29,000 messages cost a bitmap of its 71,000 postings, another of the user's 29,000 messages and
their intersection (10-15 ms); it is now a lookup of the 2,116 matches (about 6 ms) on the 1M benchmark.

The lexeme contains a space, which no parsed word can: a user's query can never produce it. Its rule is the
visibility rule of `messaging.models.MessageQuerySet.visible_to`, frozen here as a migration must be; search
keeps filtering with that rule too, so the lexeme only makes the lookup fast and can never widen a result
(`messaging.filters.VISIBLE_TO_LEXEME` builds the same lexeme; the search tests compare results with the
rule). Ranking reads the same column: lexemes without positions leave `ts_rank` unchanged.

Like 0006, adding a stored generated column rewrites the table under an exclusive lock (about 20 s per million
messages on the benchmark machine): schedule it like any table rewrite.
"""

from django.db import migrations

COLUMN = "search_tsv"
INDEX = "msg_search_tsv_idx"
OLD_COLUMN = "body_tsv"  # 0006
OLD_INDEX = "msg_body_tsv_idx"
WORDS = "to_tsvector('english'::regconfig, COALESCE(body, ''))"  # as 0006; messaging.filters.SEARCH_CONFIG
VISIBLE_TO = (
    "array_to_tsvector(array_remove(ARRAY["
    "CASE WHEN hidden_at IS NULL AND sender_deleted_at IS NULL THEN 'vis ' || sender_id::text END, "
    "CASE WHEN hidden_at IS NULL AND recipient_deleted_at IS NULL THEN 'vis ' || recipient_id::text END"
    "], NULL))"
)


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE messaging_message ADD COLUMN {COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({WORDS} || {VISIBLE_TO}) STORED"
    )
    schema_editor.execute(f"CREATE INDEX {INDEX} ON messaging_message USING gin ({COLUMN})")
    schema_editor.execute(f"ALTER TABLE messaging_message DROP COLUMN IF EXISTS {OLD_COLUMN}")  # and its index


def drop_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE messaging_message ADD COLUMN {OLD_COLUMN} tsvector GENERATED ALWAYS AS ({WORDS}) STORED"
    )
    schema_editor.execute(f"CREATE INDEX {OLD_INDEX} ON messaging_message USING gin ({OLD_COLUMN})")
    schema_editor.execute(f"ALTER TABLE messaging_message DROP COLUMN IF EXISTS {COLUMN}")  # and its index


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_body_search_vector_column")]

    operations = [migrations.RunPython(add_column, drop_column, elidable=False)]
