"""The live sync: an old server (raw SQL on the old tables, exactly as the FastAPI service wrote them) and
Relay (real HTTP against a live server) side by side, each seeing the other's writes at once.

PostgreSQL only: the sync is PostgreSQL triggers (SQLite refuses it; see the last test).
"""

import base64
import threading
import time
from collections import Counter

import bcrypt
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from legacy_dm import sync
from legacy_dm import verify as verification
from legacy_dm.tests.old_server import OldServer, old_hash
from messaging import conversations, services
from messaging.models import ConversationSummary, Message
from tests.helpers import http_json, run_at_once
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the live sync is PostgreSQL's")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


class Relay:
    """Relay's API over real HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def login(self, username: str, password: str) -> str:
        status, body = http_json(
            f"{self.url}/api/auth/token/", method="POST", body={"username": username, "password": password}
        )
        assert status == 200, body
        return body["access"]

    def call(self, method: str, path: str, token: str, body=None, expect: int | None = 200):
        status, answer = http_json(f"{self.url}{path}", method=method, body=body, token=token)
        if expect is not None:
            assert status == expect, (method, path, status, answer)
        return answer

    def thread(self, token: str, other: int) -> list[dict]:
        messages, path = [], f"/api/messages/with/{other}?page_size=100"
        while path:
            page = self.call("GET", path, token)
            messages += page["results"]
            path = page["next"] and page["next"].replace(self.url, "").replace("http://testserver", "")
        return messages


def assert_verified() -> None:
    outcome = verification.verify(connection)
    assert outcome.ok, outcome.report()


@postgresql_only
def test_each_old_write_is_visible_through_the_new_apis_at_once(synced, old_server, live_server):
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    bob_token = relay.login("bob", "bob-old-secret")

    # A message an old server writes: at once in the new API, with its id.
    sent = old_server.send(alice, bob, "Written by an old server", data=PNG, name="", type=None)
    message = relay.call("GET", f"/api/messages/{sent}", bob_token)
    assert (message["id"], message["body"], message["sender"]["id"]) == (sent, "Written by an old server", alice)
    assert message["attachment"]["name"] == f"attachment-{sent}"
    assert message["attachment"]["content_type"] == "image/png"  # the carry's rule: sniffed
    assert message["is_read"] is False

    # Its read, then the receiver's delete.
    old_server.read(sent)
    assert relay.call("GET", f"/api/messages/{sent}", bob_token)["is_read"] is True
    old_server.delete(sent, by="receiver")
    relay.call("GET", f"/api/messages/{sent}", bob_token, expect=404)
    alice_token = relay.login("alice", "alice-old-secret")
    assert relay.call("GET", f"/api/messages/{sent}", alice_token)["id"] == sent  # the sender still sees it

    # A new user logs in with the bcrypt password the old server stored.
    carol = old_server.register("carol", "carol-old-secret", "Carol")
    carol_token = relay.login("carol", "carol-old-secret")
    assert relay.call("GET", "/api/auth/me/", carol_token)["id"] == carol

    # A new conversation and its message, through the legacy API under the old conversation id.
    conversation = old_server.open_conversation(carol, bob)
    in_it = old_server.send(carol, bob, "A new conversation on the old side", conversation=conversation)
    rows = relay.call("GET", f"/api/messaging/conversations/{conversation}/messages", bob_token)
    assert [row["id"] for row in rows] == [in_it]
    assert rows[0]["conversation_id"] == conversation

    # An old password change: the new password logs in, the old one no longer does.
    old_server.conn.execute(
        "UPDATE users SET hashed_password = %s WHERE id = %s", (old_hash("carol-new-secret"), carol)
    )
    relay.login("carol", "carol-new-secret")
    status, _ = http_json(
        f"{live_server.url}/api/auth/token/", method="POST", body={"username": "carol", "password": "carol-old-secret"}
    )
    assert status == 401
    assert_verified()


@postgresql_only
def test_each_new_write_is_in_the_old_tables_at_once_in_the_old_shape(synced, old_server, live_server):
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]

    # Registration: an old row whose bcrypt hash the old service checks.
    status, dora = http_json(
        f"{live_server.url}/api/auth/register/",
        method="POST",
        body={"username": "dora", "email": "dora@new.example", "password": "dora-new-secret-1", "display_name": "Dora"},
    )
    assert status == 201, dora
    row = old_server.one(
        "SELECT username, email, hashed_password, full_name, is_active FROM users WHERE id = %s", (dora["id"],)
    )
    assert row[:2] == ("dora", "dora@new.example") and row[3:] == ("Dora", True)
    assert row[2].startswith("$2b$") and bcrypt.checkpw(b"dora-new-secret-1", row[2].encode())

    dora_token = relay.login("dora", "dora-new-secret-1")
    bob_token = relay.login("bob", "bob-old-secret")

    # A send with an attachment and a reply: the row the old service would serve.
    attachment = {
        "name": "plan.pdf",
        "content_type": "application/pdf",
        "data": base64.b64encode(b"%PDF-1.4 plan").decode(),
    }
    first = relay.call(
        "POST", "/api/messages/send", bob_token, {"recipient_id": dora["id"], "body": "Hi Dora"}, expect=201
    )
    reply = relay.call(
        "POST",
        "/api/messages/send",
        dora_token,
        {"recipient_id": bob, "body": "The plan", "reply_to_id": first["id"], "attachment": attachment},
        expect=201,
    )
    row = old_server.one(
        "SELECT sender_id, receiver_id, content, file_data, file_name, file_type, reply_to_id, is_read,"
        " is_deleted_by_sender, is_deleted_by_receiver FROM direct_messages WHERE id = %s",
        (reply["id"],),
    )
    assert row == (
        dora["id"],
        bob,
        "The plan",
        b"%PDF-1.4 plan",
        "plan.pdf",
        "application/pdf",
        first["id"],
        False,
        False,
        False,
    )
    assert reply["id"] > synced["first"]  # ids from the shared sequence

    # Read, per-user delete.
    relay.call("POST", f"/api/messages/{reply['id']}/read", bob_token)
    is_read, read_at = old_server.one("SELECT is_read, read_at FROM direct_messages WHERE id = %s", (reply["id"],))
    assert is_read is True and read_at is not None and read_at.tzinfo is None
    relay.call("DELETE", f"/api/messages/{first['id']}", bob_token, expect=204)
    assert old_server.one(
        "SELECT is_deleted_by_sender, is_deleted_by_receiver FROM direct_messages WHERE id = %s", (first["id"],)
    ) == (True, False)

    # A conversation id the new system gives out, and a whole-conversation delete through the legacy API.
    status, opened = http_json(
        f"{live_server.url}/api/messaging/conversations",
        method="POST",
        body={"participant_ids": [dora["id"]]},
        token=bob_token,
    )
    assert status == 201, opened
    participants = old_server.all(
        "SELECT user_id FROM conversation_participants WHERE conversation_id = %s ORDER BY user_id", (opened["id"],)
    )
    assert [p[0] for p in participants] == sorted([bob, dora["id"]])
    relay.call("DELETE", f"/api/messaging/conversations/{opened['id']}", dora_token)
    assert old_server.visible(dora["id"]) == []

    # A password change on the new side: bcrypt, checked by the old service.
    user = User.objects.get(pk=alice)
    user.set_password("alice-changed-secret")
    user.save()
    stored = old_server.one("SELECT hashed_password FROM users WHERE id = %s", (alice,))
    assert bcrypt.checkpw(b"alice-changed-secret", stored.encode())

    # A moderator's hide: old servers stop serving it; unhide restores the flags as the users left them.
    moderator = User.objects.create_superuser("mod", "mod@example.com", "mod-secret-123")
    hidden = Message.objects.get(pk=reply["id"])
    services.hide_messages(moderator=moderator, messages=[hidden], reason="spam")
    assert reply["id"] not in {m[0] for m in old_server.visible(bob)}
    services.unhide_messages(moderator=moderator, messages=[hidden])
    assert reply["id"] in {m[0] for m in old_server.visible(bob)}
    assert reply["id"] not in {m[0] for m in old_server.visible(dora["id"])}  # dora deleted the conversation
    assert_verified()


@postgresql_only
def test_no_write_echoes_back(synced, old_server, live_server):
    """A mirrored write is not mirrored again: one old row per message, one new row per old row, and the old
    row keeps the old server's exact values (the carry's names are not written back).
    """
    sent = old_server.send(synced["alice"], synced["bob"], "no echo", data=PNG, name=None, type=None)
    assert old_server.one("SELECT file_name, file_type FROM direct_messages WHERE id = %s", (sent,)) == (None, None)
    assert Message.objects.get(pk=sent).attachment_name == f"attachment-{sent}"
    assert old_server.one("SELECT COUNT(*) FROM direct_messages") == Message.objects.count()


def _api_writer(relay: Relay, token: str, recipient: int, count: int, statuses: Counter, ids: list) -> None:
    for i in range(count):
        status, body = http_json(
            f"{relay.url}/api/messages/send",
            method="POST",
            body={"recipient_id": recipient, "body": f"api {i}"},
            token=token,
        )
        statuses[status] += 1
        if status == 201:
            ids.append(body["id"])


@postgresql_only
def test_concurrent_writers_on_both_sides_end_up_on_both_sides(synced, live_server):
    """4 API threads and 4 old-server threads, 15 sends each, plus reads: every row on both sides, no
    duplicate id, no 5xx, and the verification passes.
    """
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    tokens = {alice: relay.login("alice", "alice-old-secret"), bob: relay.login("bob", "bob-old-secret")}
    per_thread, statuses, api_ids, old_ids = 15, Counter(), [], []
    lock = threading.Lock()

    def work(index: int) -> None:
        sender, recipient = (alice, bob) if index % 2 else (bob, alice)
        if index < 4:
            mine: list[int] = []
            _api_writer(relay, tokens[sender], recipient, per_thread, statuses, mine)
            with lock:
                api_ids.extend(mine)
        else:
            server = OldServer()
            try:
                for i in range(per_thread):
                    sent = server.send(sender, recipient, f"old {index} {i}")
                    if i % 3 == 0:
                        server.read(sent)
                    with lock:
                        old_ids.append(sent)
            finally:
                server.close()

    started = time.monotonic()
    _, errors = run_at_once(work, 8, timeout=120)
    assert errors == []
    assert time.monotonic() - started < 120
    assert statuses == {201: 4 * per_thread}, statuses
    assert len(api_ids) == len(set(api_ids)) and len(old_ids) == len(set(old_ids))
    assert not set(api_ids) & set(old_ids)
    everything = set(api_ids) | set(old_ids)
    new_side = set(Message.objects.filter(pk__in=everything).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM direct_messages WHERE id = ANY(%s)", [list(everything)])
        old_side = {row[0] for row in cursor.fetchall()}
    assert new_side == old_side == everything
    assert_verified()


@postgresql_only
def test_rollback_routes_traffic_back_and_loses_nothing(synced, old_server, live_server):
    """After writes on both sides, the old service's rule shows every user exactly what the new API showed
    them; old-side writes while the new servers are down are there when they come back.
    """
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    tokens = {alice: relay.login("alice", "alice-old-secret"), bob: relay.login("bob", "bob-old-secret")}
    sent = [
        relay.call("POST", "/api/messages/send", tokens[alice], {"recipient_id": bob, "body": f"new {i}"}, expect=201)
        for i in range(3)
    ]
    old_sent = old_server.send(bob, alice, "old reply")
    relay.call("PUT", f"/api/messages/mark-conversation-read/{alice}", tokens[bob])
    relay.call("DELETE", f"/api/messages/{sent[1]['id']}", tokens[alice], expect=204)
    old_server.delete(old_sent, by="sender")

    for user_id, other in ((alice, bob), (bob, alice)):
        shown = [(m["id"], m["body"], m["is_read"]) for m in relay.thread(tokens[user_id], other)]
        assert old_server.visible(user_id) == shown

    # The new servers go away; old servers keep writing; the new servers come back.
    during = [old_server.send(alice, bob, f"while Relay was down {i}") for i in range(3)]
    old_server.read(during[0])
    bob_sees = {m["id"]: m["is_read"] for m in relay.thread(tokens[bob], alice)}
    assert {i: bob_sees.get(i) for i in during} == {during[0]: True, during[1]: False, during[2]: False}
    call_command("copy_legacy_messages", dry_run=True, verify=True, verbosity=0)


@postgresql_only
def test_cut_over_stops_both_directions_and_on_catches_up(synced, old_server, live_server, capsys):
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    token = relay.login("alice", "alice-old-secret")
    call_command("legacy_sync", "off")
    call_command("legacy_sync", "off")  # idempotent
    assert "already off" in capsys.readouterr().out

    new_only = relay.call(
        "POST", "/api/messages/send", token, {"recipient_id": bob, "body": "after cut-over"}, expect=201
    )
    old_only = old_server.send(bob, alice, "a straggler old server")
    assert old_server.one("SELECT COUNT(*) FROM direct_messages WHERE id = %s", (new_only["id"],)) == 0
    assert not Message.objects.filter(pk=old_only).exists()
    call_command("legacy_sync", "status")
    assert "legacy sync: off" in capsys.readouterr().out

    # On again: what each side wrote in between reaches the other, then the sync runs.
    call_command("legacy_sync", "on")
    out = capsys.readouterr().out
    assert "legacy sync: on" in out
    assert Message.objects.get(pk=old_only).body == "a straggler old server"
    assert old_server.one("SELECT content FROM direct_messages WHERE id = %s", (new_only["id"],)) == "after cut-over"
    call_command("legacy_sync", "on")
    assert "already on" in capsys.readouterr().out
    after = old_server.send(bob, alice, "synced again")
    assert Message.objects.filter(pk=after).exists()
    assert_verified()


@postgresql_only
@override_settings(LEGACY_BCRYPT_ROUNDS=4)
def test_while_the_sync_runs_new_passwords_are_bcrypt_and_after_it_they_upgrade(synced, live_server):
    relay = Relay(live_server.url)
    relay.login("alice", "alice-old-secret")  # a login while on keeps the bcrypt hash
    assert User.objects.get(pk=synced["alice"]).password.startswith("bcrypt$$2b$04$")
    status, body = http_json(
        f"{live_server.url}/api/auth/register/",
        method="POST",
        body={"username": "x" * 51, "email": "long@example.com", "password": "long-name-secret-1"},
    )
    assert status == 400 and "50" in str(body["username"]), body
    call_command("legacy_sync", "off", verbosity=0)
    relay.login("alice", "alice-old-secret")
    assert not User.objects.get(pk=synced["alice"]).password.startswith("bcrypt$")  # upgraded on login
    call_command("legacy_sync", "on", verbosity=0)


def test_a_fresh_database_has_no_triggers_and_sqlite_refuses(capsys):
    assert sync.installed_triggers(connection) == 0
    call_command("legacy_sync", "status")
    assert "legacy sync: off" in capsys.readouterr().out
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="PostgreSQL only"):
            call_command("legacy_sync", "on")


@postgresql_only
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_sequence_of_writes_on_both_sides_reads_the_same_on_both(synced, old_server, live_server, seed):
    """A random sequence of sends, reads, deletes, conversation deletes and hides, each on a random side:
    afterwards the old service's rule shows every user exactly what the new API shows them, and the
    verification passes.
    """
    import random

    rng = random.Random(seed)
    relay = Relay(live_server.url)
    carol = old_server.register("carol", "carol-old-secret")
    names = {synced["alice"]: "alice", synced["bob"]: "bob", carol: "carol"}
    tokens = {user_id: relay.login(name, f"{name}-old-secret") for user_id, name in names.items()}
    moderator = User.objects.create_superuser("mod", "mod@example.com", "mod-secret-123")
    sent: list[tuple[int, int, int]] = []  # (id, sender, recipient)

    for step in range(40):
        sender, recipient = rng.sample(sorted(names), 2)
        action = rng.choice(["send", "send", "read", "delete", "forget", "hide"]) if sent else "send"
        new_side = rng.random() < 0.5
        if action == "send":
            if new_side:
                body = {"recipient_id": recipient, "body": f"new {step}"}
                message_id = relay.call("POST", "/api/messages/send", tokens[sender], body, expect=201)["id"]
            else:
                message_id = old_server.send(sender, recipient, f"old {step}")
            sent.append((message_id, sender, recipient))
            continue
        message_id, sender, recipient = rng.choice(sent)
        if action == "read":
            if new_side:
                http_json(f"{live_server.url}/api/messages/{message_id}/read", method="POST", token=tokens[recipient])
            else:
                old_server.read(message_id)
        elif action == "delete":
            by, role = rng.choice([(sender, "sender"), (recipient, "receiver")])
            if new_side:
                http_json(f"{live_server.url}/api/messages/{message_id}", method="DELETE", token=tokens[by])
            else:
                old_server.delete(message_id, by=role)
        elif action == "forget":  # a whole-conversation delete through the legacy API
            status, opened = http_json(
                f"{live_server.url}/api/messaging/conversations",
                method="POST",
                body={"participant_ids": [recipient]},
                token=tokens[sender],
            )
            assert status in (200, 201), opened
            relay.call("DELETE", f"/api/messaging/conversations/{opened['id']}", tokens[sender])
        else:
            message = Message.objects.get(pk=message_id)
            if message.hidden_at is None:
                services.hide_messages(moderator=moderator, messages=[message], reason="seeded")
            else:
                services.unhide_messages(moderator=moderator, messages=[message])

    for user_id in names:
        shown = {
            (m["id"], m["body"], m["is_read"])
            for other in names
            if other != user_id
            for m in relay.thread(tokens[user_id], other)
        }
        assert set(old_server.visible(user_id)) == shown, names[user_id]
    assert_verified()


@postgresql_only
def test_rows_deleted_on_the_new_side_leave_the_old_tables(synced, old_server):
    """An admin deleting a message, or a user who has none (messages protect their users), deletes the old
    rows too: old servers must not serve what Relay no longer holds.
    """
    carol = User.objects.create_user("carol", "carol@example.com", "carol-secret-123")
    note = services.send_message(sender=carol, recipient_id=synced["bob"], body="soon gone")
    kept = services.send_message(sender=User.objects.get(pk=synced["alice"]), recipient_id=synced["bob"], body="kept")
    assert old_server.one("SELECT COUNT(*) FROM direct_messages WHERE id IN (%s, %s)", (note.pk, kept.pk)) == 2
    Message.objects.filter(pk__in=[kept.pk, note.pk]).delete()
    assert old_server.one("SELECT COUNT(*) FROM direct_messages WHERE id IN (%s, %s)", (note.pk, kept.pk)) == 0
    assert old_server.one("SELECT COUNT(*) FROM users WHERE id = %s", (carol.pk,)) == 1
    carol.delete()
    assert old_server.one("SELECT COUNT(*) FROM users WHERE id = %s", (carol.pk,)) == 0
    assert_verified()


@postgresql_only
def test_an_old_servers_message_is_in_the_inbox_when_its_transaction_commits(synced, old_server):
    alice, bob = synced["alice"], synced["bob"]
    """The summary's triggers fire on the rows the sync's triggers write, in the old server's transaction."""
    sent = old_server.send(alice, bob, "Written by an old server")
    created = Message.objects.get(pk=sent).created_at
    assert ConversationSummary.objects.filter(user_id=bob, partner_id=alice).values_list(
        "last_activity_at", "unread_count"
    ).get() == (created, 2)  # with the carried "Hello Bob" of the fixture
    old_server.read(sent)
    assert ConversationSummary.objects.get(user_id=bob, partner_id=alice).unread_count == 1
    assert conversations.verify() == []
