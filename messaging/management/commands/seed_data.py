"""Demo data for trying Relay at once: a few people, conversations with replies, an attachment, unread messages.

Idempotent: people are created or reset to their known passwords; the conversations are written only once.
Ends with what a new user needs to start: the database in use, the links (for `--addr`, the address
`scripts/run.sh` serves on) and every demo login.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re
from django.db import transaction
from django.utils import timezone

from config.db import describe_database
from messaging import services
from messaging.models import Message
from messaging.services import AttachmentInput

User = get_user_model()

PASSWORD = "relay-demo-pass"
PEOPLE = [
    ("alice", "Alice Liddell"),
    ("bob", ""),
    ("carol", "Carol Danvers"),
    ("dave", "Dave Bowman"),
]
ADMIN = ("admin", "relay-admin-pass")
# Staff in the "Moderators" group (created by messaging's migration 0002): the moderation console only.
MODERATOR = ("moderator", "relay-mod-pass")

# (sender, recipient, body, reply to the conversation line at this index, read?)
SCRIPT = [
    ("alice", "bob", "Hi Bob! Did you get a chance to look at the launch plan?", None, True),
    ("bob", "alice", "Not yet. Can you send the plan?", 0, True),
    ("alice", "bob", "See the attached plan.", 1, False),
    ("bob", "alice", "Thanks, reading it tonight.", 2, False),
    ("carol", "alice", "Lunch on Friday? The new place on Main Street.", None, False),
    ("alice", "carol", "Friday works. Noon?", 4, True),
    ("carol", "alice", "Noon it is. I'll book a table.", 5, False),
    ("dave", "bob", "The pod bay doors report is ready for review.", None, False),
    ("bob", "dave", "Great, I'll review the report tomorrow morning.", 7, True),
    ("dave", "alice", "Welcome to Relay! Try searching for 'plan' or 'report'.", None, False),
]
PLAN_PDF = b"%PDF-1.4\n% Relay demo attachment: the launch plan\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


# Addresses that mean "every interface" when serving, and the one to open in a browser on this machine.
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def base_url(addr: str) -> str:
    """The URL a browser on this machine opens for `runserver <addr>` (its syntax: `port`, `host:port`)."""
    match = naiveip_re.match(addr)
    if match is None:
        raise CommandError(f'"{addr}" is not an address runserver takes (port, or host:port).')
    host = match["addr"] or "127.0.0.1"
    return f"http://{WILDCARD_HOSTS.get(host, host)}:{match['port']}"


class Command(BaseCommand):
    help = "Create demo users and conversations (safe to run again), then print the database, links and logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--addr",
            default="127.0.0.1:8000",
            help="The address the server listens on (runserver's syntax), for the links printed at the end.",
        )

    def handle(self, *args, **options):
        url = base_url(options["addr"])
        self._write_demo_data()
        self._print_summary(url)

    @transaction.atomic
    def _write_demo_data(self):
        people = {}
        for username, display_name in PEOPLE:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com", "display_name": display_name}
            )
            user.set_password(PASSWORD)
            user.is_active = True
            user.save()
            people[username] = user
        admin, _ = User.objects.get_or_create(username=ADMIN[0], defaults={"email": "admin@example.com"})
        admin.set_password(ADMIN[1])
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.save()
        moderator, _ = User.objects.get_or_create(username=MODERATOR[0], defaults={"email": "moderator@example.com"})
        moderator.set_password(MODERATOR[1])
        moderator.is_staff = moderator.is_active = True
        moderator.is_superuser = False
        moderator.save()
        moderator.groups.add(Group.objects.get(name="Moderators"))

        if not Message.objects.filter(sender=people["alice"], body=SCRIPT[0][2]).exists():
            self._write_conversations(people)

    def _print_summary(self, url):
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data ready."))
        write(f"  database   {describe_database()}")
        write(f"  inbox      {url}/inbox/")
        write(f"  API docs   {url}/docs")
        write(f"  admin      {url}/admin/")
        write("Demo logins (username / password):")
        for username, _ in PEOPLE:
            write(f"  {username:<10} / {PASSWORD:<17} inbox and API")
        write(f"  {ADMIN[0]:<10} / {ADMIN[1]:<17} superuser: {url}/admin/")
        write(f"  {MODERATOR[0]:<10} / {MODERATOR[1]:<17} moderator (messages, reports, blocks, people): {url}/admin/")

    def _write_conversations(self, people):
        start = timezone.now() - timedelta(hours=len(SCRIPT))
        written: list[Message] = []
        for index, (sender, recipient, body, reply_index, read) in enumerate(SCRIPT):
            attachment = None
            if body.startswith("See the attached plan"):
                attachment = AttachmentInput(name="launch-plan.pdf", content_type="application/pdf", data=PLAN_PDF)
            message = services.send_message(
                sender=people[sender],
                recipient_id=people[recipient].pk,
                body=body,
                reply_to_id=written[reply_index].pk if reply_index is not None else None,
                attachment=attachment,
            )
            sent_at = start + timedelta(hours=index)
            Message.objects.filter(pk=message.pk).update(
                created_at=sent_at, read_at=sent_at + timedelta(minutes=5) if read else None
            )
            written.append(message)
        # Something for the moderation console: an open report.
        services.report_message(
            user=people["bob"], message_id=written[7].pk, reason="Demo report: please check this message."
        )
