"""The conversation summary's two tables are vacuumed after 1,000 dead rows, not after a fifth of the table.

Every message sent updates two rows of `messaging_conversation_summary` (the sender's and the recipient's
conversation) and one of `messaging_inbox_totals` (the recipient's), so those tables gain dead row
versions as fast as messages are sent, all of them on the rows of the conversations in use. A summary row's
update changes `last_activity_at`, which `summary_recent_idx` orders the inbox by, so it cannot be a
heap-only update: each version adds an entry to the pair's unique index, and writing the next one checks
the entries of every version not yet found dead. PostgreSQL's default starts a vacuum when a fifth of a
table is dead: with a 200,000-row summary, after 40,000 updates, by when a busy conversation's next send
checks thousands of versions (measured: each 1,000 sends into one pair added about 1,000 buffer reads to
the next send's summary update while nothing cleared them).
A vacuum of these tables reads only the pages that changed since the last one, so running it after every
1,000 dead rows costs little. docs/operations.md says what else keeps them small (no long transactions).
"""

from django.db import migrations

OFTEN = """
ALTER TABLE messaging_conversation_summary SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02
);
ALTER TABLE messaging_inbox_totals SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
"""

DEFAULT = """
ALTER TABLE messaging_conversation_summary RESET (
    autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor
);
ALTER TABLE messaging_inbox_totals RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0007_summary_functions_written_down")]

    operations = [migrations.RunSQL(OFTEN, DEFAULT)]
