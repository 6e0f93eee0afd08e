"""The missed-message email (`messaging.notifications`), sent to a real SMTP server (aiosmtpd) the test starts:
one mail per conversation batching what was missed, the rate limit, mute, the setting, read messages, an
open event stream, the unsubscribe link and headers, and several runs at once.
"""

import asyncio
import email
import subprocess
import sys
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from messaging import notifications, services
from messaging.models import ConversationMute, Message, MissedMessageNotice
from messaging.notifications import send_missed_message_emails
from tests.helpers import EventStream, free_port, server_env, token_for
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://relay.example.com"


class Inbox:
    """What the SMTP server took: each mail, parsed; `delay` seconds before it answers each one."""

    def __init__(self, delay: float = 0.0) -> None:
        self.mails: list[EmailMessage] = []
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.mails.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for mail in self.mails if address in mail["To"]]


def smtp_server(settings, inbox: Inbox):
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return controller


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, which Django's SMTP backend sends to."""
    inbox = Inbox()
    controller = smtp_server(settings, inbox)
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _notify_settings(settings):
    settings.SITE_URL = SITE
    settings.NOTIFY_EMAIL_AFTER_MINUTES = 10
    settings.NOTIFY_EMAIL_EVERY_MINUTES = 60
    settings.REDIS_URL = ""  # an in-process broker unless a test serves streams itself
    from messaging.broker import reset_broker

    reset_broker()
    yield
    reset_broker()


def send(sender, recipient, body: str, *, minutes_ago: float = 11) -> Message:
    """A message sent through the service, `minutes_ago` minutes ago."""
    message = services.send_message(sender=sender, recipient_id=recipient.pk, body=body)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    message.refresh_from_db()
    return message


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def html_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def test_one_mail_per_conversation_batches_every_missed_message_with_times_in_the_readers_zone(smtp, alice, bob, carol):
    """Three messages from Bob and one from Carol: two mails, Bob's listing his three oldest first, each
    with its time in Alice's zone, and a link to the thread at her first unread message."""
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])
    first = send(bob, alice, "Are you there?", minutes_ago=30)
    send(bob, alice, "The launch moved to   Friday", minutes_ago=20)
    send(bob, alice, "x" * 300, minutes_ago=12)
    send(carol, alice, "Lunch?", minutes_ago=15)

    run = send_missed_message_emails()

    assert run.sent == 2
    (from_bob,) = [mail for mail in smtp.to("alice@example.com") if "bob" in mail["Subject"]]
    (from_carol,) = [mail for mail in smtp.to("alice@example.com") if "Carol" in mail["Subject"]]
    assert from_bob["Subject"] == "bob sent you 3 messages on Relay"
    assert from_carol["Subject"] == "Carol sent you a message on Relay"
    assert from_bob["To"] == "Alice Liddell <alice@example.com>"
    body = text_of(from_bob)
    tokyo = timezone.localtime(first.created_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo.day} {tokyo:%b %Y, %H:%M}" in body and "Times are in Asia/Tokyo." in body
    assert body.index("Are you there?") < body.index("The launch moved to Friday") < body.index("x" * 99 + "…")
    assert "x" * 101 not in body  # a preview, not the whole message
    link = f"{SITE}/inbox/with/{bob.pk}/?anchor=first_unread"
    assert link in body and f'href="{link}"' in html_of(from_bob)
    assert "Lunch?" in text_of(from_carol) and "Are you there?" not in text_of(from_carol)

    assert send_missed_message_emails().sent == 0  # never twice for the same messages
    assert len(smtp.mails) == 2


def test_a_message_is_mailed_about_only_after_the_delay_and_the_link_opens_at_it(smtp, alice, bob, client):
    """Five minutes unread is not yet missed; at ten it is. The mail's link opens the thread at the first
    unread message."""
    older = send(bob, alice, "first", minutes_ago=5)
    assert send_missed_message_emails().sent == 0
    send(bob, alice, "second", minutes_ago=1)

    run = send_missed_message_emails(now=timezone.now() + timedelta(minutes=6))

    assert run.sent == 1
    body = text_of(smtp.mails[0])
    assert "first" in body and "second" in body  # everything unread in it, the newer one too
    link = next(line for line in body.splitlines() if "anchor=first_unread" in line).split(": ", 1)[1]
    client.force_login(alice)
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status_code == 200
    assert page.context["window"].anchor == older.pk


def test_at_most_one_mail_per_conversation_per_interval(smtp, alice, bob):
    """A message after a mail waits for NOTIFY_EMAIL_EVERY_MINUTES since that mail, then goes alone."""
    send(bob, alice, "first news")
    start = timezone.now()
    assert send_missed_message_emails(now=start).sent == 1
    send(bob, alice, "second news", minutes_ago=0)

    assert send_missed_message_emails(now=start + timedelta(minutes=30)).sent == 0
    assert send_missed_message_emails(now=start + timedelta(minutes=59)).sent == 0
    assert send_missed_message_emails(now=start + timedelta(minutes=61)).sent == 1

    first, second = smtp.mails
    assert "first news" in text_of(first) and "second news" not in text_of(first)
    assert "second news" in text_of(second) and "first news" not in text_of(second)
    notice = MissedMessageNotice.objects.get(user=alice, partner=bob)
    assert notice.notified_through_id == Message.objects.filter(body="second news").get().pk


def test_a_muted_conversation_is_never_mailed_about(smtp, alice, bob, carol):
    send(bob, alice, "from bob")
    send(carol, alice, "from carol")
    services.mute_conversation(user=alice, other_id=bob.pk)

    assert send_missed_message_emails().sent == 1
    (mail,) = smtp.mails
    assert "from carol" in text_of(mail)


def test_read_messages_are_not_mailed_about(smtp, alice, bob, carol):
    """A conversation read since is not mailed; of one read up to a message, only what follows."""
    send(carol, alice, "read already")
    services.mark_conversation_read(user=alice, other=carol)
    seen = send(bob, alice, "seen", minutes_ago=20)
    send(bob, alice, "not seen", minutes_ago=15)
    services.mark_conversation_read(user=alice, other=bob, through=seen)

    assert send_missed_message_emails().sent == 1
    (mail,) = smtp.mails
    assert "not seen" in text_of(mail) and "seen\n" not in text_of(mail).replace("not seen\n", "")
    assert mail["Subject"] == "bob sent you a message on Relay"


def test_the_setting_turns_the_mail_off_on_the_page_and_the_api(smtp, alice, bob, alice_client, client):
    send(bob, alice, "hello")
    assert alice_client.get("/api/auth/me/").json()["email_notifications"] is True
    client.force_login(alice)
    page = client.get("/accounts/settings/")
    assert page.context["form"]["email_notifications"].value() is True
    assert b"Email me about messages I have not read while away" in page.content
    saved = client.post("/accounts/settings/", {"display_name": "Alice", "time_zone": ""})  # box unticked
    assert saved.status_code == 302
    alice.refresh_from_db()
    assert alice.email_notifications is False

    assert send_missed_message_emails().sent == 0

    answer = alice_client.patch("/api/auth/me/", {"email_notifications": True}, format="json")
    assert answer.status_code == 200 and answer.json()["email_notifications"] is True
    assert alice_client.patch("/api/auth/me/", {"email_notifications": "maybe"}, format="json").status_code == 400
    assert send_missed_message_emails().sent == 1


def test_people_without_an_address_or_deactivated_get_no_mail(smtp, bob):
    nobody = UserFactory(username="nobody", email="")
    gone = UserFactory(username="gone")
    send(bob, nobody, "hello")
    send(bob, gone, "hello")
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    assert send_missed_message_emails().sent == 0


def test_the_unsubscribe_link_works_without_login_and_the_headers_offer_one_click(smtp, alice, bob, client):
    send(bob, alice, "hello")
    send_missed_message_emails()
    (mail,) = smtp.mails
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    url = mail["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
    assert url.startswith(f"{SITE}/notifications/unsubscribe/") and url in text_of(mail)
    path = urlsplit(url).path

    shown = client.get(path)  # a link preview or a mail scanner: changes nothing
    assert shown.status_code == 200 and b"Stop these emails" in shown.content
    alice.refresh_from_db()
    assert alice.email_notifications is True

    # What a mail client's one-click unsubscribe sends (RFC 8058), with no session and no CSRF token.
    done = client.post(path, {"List-Unsubscribe": "One-Click"}, enforce_csrf_checks=True)
    assert done.status_code == 200 and b"gets no more emails" in done.content
    alice.refresh_from_db()
    assert alice.email_notifications is False


@pytest.mark.parametrize("token", ["garbage", "{signed}x", "{signed_other_salt}", "{signed_string}"])
def test_a_tampered_unsubscribe_token_is_a_400_page(client, alice, bob, token):
    from django.core import signing

    token = token.format(
        signed=notifications.unsubscribe_token(alice),
        signed_other_salt=signing.dumps(alice.pk, salt="another"),
        signed_string=signing.dumps("1", salt=notifications.UNSUBSCRIBE_SALT),
    )
    for answer in (
        client.get(f"/notifications/unsubscribe/{token}/"),
        client.post(f"/notifications/unsubscribe/{token}/"),
    ):
        assert answer.status_code == 400
        assert b"This unsubscribe link is not valid" in answer.content
    alice.refresh_from_db()
    assert alice.email_notifications is True


def test_a_token_names_only_its_own_user(client, alice, bob):
    client.post(f"/notifications/unsubscribe/{notifications.unsubscribe_token(bob)}/")
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.email_notifications, bob.email_notifications) == (True, False)


def test_the_command_runs_once(smtp, alice, bob):
    from io import StringIO

    send(bob, alice, "hello")
    out = StringIO()
    call_command("send_missed_message_emails", stdout=out)
    assert out.getvalue().strip() == "1 sent, 0 skipped, 0 failed"
    assert len(smtp.mails) == 1


def test_an_smtp_server_that_is_down_loses_no_mail(settings, alice, bob):
    """A refused connection: nothing recorded, so the next run, with the server back, sends it."""
    send(bob, alice, "hello")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    assert send_missed_message_emails().failed == 1

    inbox = Inbox()
    controller = smtp_server(settings, inbox)
    try:
        assert send_missed_message_emails().sent == 1
    finally:
        controller.stop()
    assert len(inbox.mails) == 1


@pytest.mark.django_db(transaction=True)
def test_an_open_event_stream_holds_the_mail_back(smtp, asgi_server, alice, bob):
    """While Alice has a stream open (a page, an app), she is not mailed; once it closes, she is."""
    send(bob, alice, "hello")
    stream = EventStream(asgi_server, token_for(alice))
    stream.next("unread_count")
    try:
        run = send_missed_message_emails()
        assert (run.sent, run.skipped) == (0, 1)
    finally:
        stream.close()
    deadline = timezone.now() + timedelta(seconds=10)
    while send_missed_message_emails().sent == 0:  # the server notices the closed stream at its next write
        assert timezone.now() < deadline, "still counted as present after the stream closed"
    assert len(smtp.mails) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_mail_once(settings):
    """Two workers (processes of the command) on one database, the SMTP server slow to answer so that they
    overlap: every conversation is mailed exactly once."""
    inbox = Inbox(delay=0.3)
    controller = smtp_server(settings, inbox)
    readers = [UserFactory(username=f"reader{i}") for i in range(3)]
    writers = [UserFactory(username=f"writer{i}") for i in range(2)]
    for reader in readers:
        for writer in writers:
            send(writer, reader, f"from {writer.username}")
    env = server_env(
        EMAIL_URL=f"smtp://127.0.0.1:{controller.port}",
        SITE_URL=SITE,
        REDIS_URL="",
        NOTIFY_EMAIL_AFTER_MINUTES="10",
    )
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "send_missed_message_emails"],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
    finally:
        controller.stop()
    assert all(run.returncode == 0 for run in runs), outputs
    sent = sorted((mail["To"], mail["Subject"]) for mail in inbox.mails)
    expected = sorted(
        (f"{reader.username} <{reader.email}>", f"{writer.username} sent you a message on Relay")
        for reader in readers
        for writer in writers
    )
    assert sent == expected
    assert sum(int(out.split(" sent")[0]) for out, _ in outputs) == 6


def test_due_sql_finds_exactly_the_conversations_the_orm_rules_give(alice, bob, carol):
    """`DUE_SQL` restates the unread rule (`MessageQuerySet.unread_for`) and the notice, mute and setting rules
    in SQL: over messages in every state, it finds the same (recipient, sender) pairs as the ORM and Python."""
    dave = UserFactory(username="dave")
    erin = UserFactory(username="erin", email_notifications=False)
    now = timezone.now()
    people = [alice, bob, carol, dave, erin]
    for index, (sender, recipient) in enumerate((s, r) for s in people for r in people if s != r):
        message = send(sender, recipient, f"message {index}", minutes_ago=[5, 11, 30, 60 * 25][index % 4])
        state = index % 5
        if state == 1:
            Message.objects.filter(pk=message.pk).update(read_at=now)
        elif state == 2:
            Message.objects.filter(pk=message.pk).update(recipient_deleted_at=now)
        elif state == 3:
            Message.objects.filter(pk=message.pk).update(hidden_at=now, hidden_reason="spam")
    services.mute_conversation(user=alice, other_id=carol.pk)
    send(alice, carol, "due, but muted")
    covered = send(bob, carol, "due, but mailed about already")
    send(alice, dave, "due, but a mail went 5 minutes ago")
    send(bob, dave, "due, and the last mail went 90 minutes ago")
    send(bob, erin, "due, but erin turned the mail off")
    MissedMessageNotice.objects.create(user=carol, partner=bob, notified_through_id=covered.pk)
    MissedMessageNotice.objects.create(user=dave, partner=alice, sent_at=now - timedelta(minutes=5))
    MissedMessageNotice.objects.create(user=dave, partner=bob, sent_at=now - timedelta(minutes=90))

    bounds = notifications._bounds(now)
    expected = set()
    for user in people:
        for message in Message.objects.unread_for(user).filter(
            created_at__gt=bounds["oldest"], created_at__lte=bounds["due"]
        ):
            notice = MissedMessageNotice.objects.filter(user=user, partner_id=message.sender_id).first()
            if (
                user.email_notifications
                and not ConversationMute.objects.filter(user=user, partner_id=message.sender_id).exists()
                and (notice is None or message.pk > notice.notified_through_id)
                and (notice is None or notice.sent_at is None or notice.sent_at <= bounds["quiet_since"])
            ):
                expected.add((user.pk, message.sender_id))
    assert expected  # the data has due conversations, and others left out for each reason
    assert set(notifications.due_conversations(now=now)) == expected
    assert len(notifications.due_conversations(now=now)) == len(expected)


def test_the_stream_registry_counts_a_stream_as_open_only_while_it_is_seen(events_broker):
    """Who is present, as the mail asks the broker (each kind): a stream from its opening until it closes, and
    only while it was seen lately (a process that died stops touching its streams); a stream closed for being
    over the cap is not counted again by a late touch."""
    import time

    source = events_broker
    start = time.time()
    source.open_stream(1, "a", cap=2)
    source.open_stream(2, "b", cap=2)
    assert source.seen_since([1, 2, 3], start - 1) == {1, 2}
    assert source.seen_since([1, 2], time.time() + 5) == set()  # not seen since then: a dead process's
    time.sleep(0.05)
    later = time.time()
    source.touch_stream(1, "a")
    assert source.seen_since([1, 2], later) == {1}

    asyncio.run(source.close_stream(1, "a"))
    source.touch_stream(1, "a")  # a touch racing the close
    assert source.seen_since([1], start - 1) == set()

    source.open_stream(2, "c", cap=2)
    assert source.open_stream(2, "d", cap=2) == ["b"]  # over the cap: the oldest is closed
    source.touch_stream(2, "b")
    source.touch_stream(2, "c")
    assert source.seen_since([2], later) == {2}
    asyncio.run(source.close_stream(2, "c"))
    assert source.seen_since([2], time.time() + 1) == set()  # "d" was not touched since
    assert source.seen_since([2], start - 1) == {2}  # "d" is still open


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_what_becomes_due_and_stops_when_told(smtp, alice, bob):
    """`--loop`: each run sends what has become due since, and a stop ends the worker between runs."""
    import threading
    from io import StringIO

    stop = threading.Event()
    out = StringIO()
    worker = threading.Thread(
        target=call_command,
        args=("send_missed_message_emails", "--loop", "--interval", "0.2"),
        kwargs={"stdout": out, "stop": stop},
        daemon=True,
    )
    worker.start()
    try:
        send(bob, alice, "while the worker runs")
        deadline = timezone.now() + timedelta(seconds=10)
        while not smtp.mails:
            assert timezone.now() < deadline, out.getvalue()
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(smtp.mails) == 1 and "while the worker runs" in text_of(smtp.mails[0])
    assert out.getvalue().startswith("sending missed-message emails every 0.2 s\n")
    assert out.getvalue().endswith("stopped\n")
