"""`manage.py rebuild_conversations [--verify] [--install]`: the conversation summary from the messages.

The triggers that keep it in step are defined by the migrations (messaging 0003, 0006, 0007, 0013); `--install`
makes this connection's writes keep it again after `messaging.conversations.uninstall` (then rebuilds).
"""

from django.core.management.base import BaseCommand, CommandError

from messaging import conversations


class Command(BaseCommand):
    help = (
        "Recompute the conversation summary (the inbox lists) from the messages, in batches of users; "
        "--verify only compares it with a recomputation and lists every difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--verify", action="store_true", help="compare only; exit 1 on any difference")
        parser.add_argument(
            "--install",
            action="store_true",
            help="this connection's writes keep it again (after conversations.uninstall), then rebuild",
        )
        parser.add_argument("--batch", type=int, default=conversations.BATCH_USERS, help="users per transaction")

    def handle(self, *args, verify=False, install=False, batch=conversations.BATCH_USERS, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if verify:
            differences = conversations.verify(batch=batch)
            for difference in differences[:50]:
                self.stdout.write(
                    f"user {difference.user_id} with {difference.partner_id}: "
                    f"stored {difference.stored}, recomputed {difference.expected}"
                )
            if differences:
                raise CommandError(f"{len(differences)} conversation rows differ from the messages.")
            self.stdout.write("The conversation summary matches the messages.")
            return
        if install:
            conversations.install()
            self.stdout.write("Writes keep the summary.")
        written = conversations.rebuild(batch=batch)
        self.stdout.write(f"Rebuilt: {written} conversation rows.")
