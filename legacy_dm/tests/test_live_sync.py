"""The live sync: an old server (raw SQL on the old tables, exactly as the FastAPI service wrote them) and
Relay (real HTTP against a live server) side by side, each seeing the other's writes at once.
"""

import base64
import http.cookiejar
import io
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import timedelta

import bcrypt
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test import override_settings

from legacy_dm import sync
from legacy_dm import verify as verification
from legacy_dm.tests.old_server import OldServer, old_hash
from messaging import conversations, services
from messaging.models import ConversationSummary, Message
from tests.helpers import http_json, run_at_once
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
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


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the redirect is the answer to check, not followed


class Browser:
    """Relay's pages over real HTTP, as a browser uses them: a cookie jar, each form's CSRF token posted back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _KeepRedirects
        )

    def request(self, path: str, form: dict | None = None) -> tuple[int, str, str | None]:
        """The status, the page and the redirect's `Location` of a GET, or of a POST of `form`."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(urllib.request.Request(f"{self.url}{path}", data=data), timeout=30) as response:
                return response.status, response.read().decode(), None
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), error.headers.get("Location")

    def submit(self, path: str, fields: dict) -> tuple[int, str, str | None]:
        """GET the form at `path`, then POST `fields` with its CSRF token."""
        status, page, _ = self.request(path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:300]
        return self.request(path, {"csrfmiddlewaretoken": token.group(1), **fields})


def assert_verified() -> None:
    outcome = verification.verify(connection)
    assert outcome.ok, outcome.report()


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


def test_each_legacy_api_write_is_in_the_old_tables_at_once_in_the_old_shape(synced, old_server, live_server):
    """Sends (a reply with a file, a send into a conversation), reads, a per-user delete and a whole-conversation
    delete through the legacy API: after each, the old row, served by the old service's rule, is exactly what
    the legacy API answered, and its unserved columns (bytes, conversation, delete flags) are the old ones.
    """
    relay = Relay(live_server.url)
    alice, bob, conversation = synced["alice"], synced["bob"], synced["conversation"]
    alice_token, bob_token = relay.login("alice", "alice-old-secret"), relay.login("bob", "bob-old-secret")

    def unserved(message_id: int) -> tuple:
        row = old_server.message(message_id)
        return row["conversation_id"], row["file_data"], row["is_deleted_by_sender"], row["is_deleted_by_receiver"]

    sent = relay.call(
        "POST", "/api/direct-messages/", alice_token, {"receiver_id": bob, "content": "Through the old API"}, expect=201
    )
    assert old_server.served(sent["id"]) == sent
    assert (sent["content"], sent["sender_id"], sent["is_read"], sent["read_at"]) == (
        "Through the old API",
        alice,
        False,
        None,
    )
    assert unserved(sent["id"]) == (conversation, None, False, False)

    reply = relay.call(
        "POST",
        "/api/direct-messages/",
        bob_token,
        {
            "receiver_id": alice,
            "content": "A photo",
            "reply_to_id": sent["id"],
            "file_data": base64.b64encode(PNG).decode(),
            "file_name": "photo.png",
            "file_type": "image/png",
        },
        expect=201,
    )
    assert old_server.served(reply["id"]) == reply
    assert (reply["reply_to_id"], reply["file_name"], reply["file_type"]) == (sent["id"], "photo.png", "image/png")
    assert unserved(reply["id"]) == (conversation, PNG, False, False)

    # A send into the old conversation id: the old row names that conversation.
    in_it = relay.call(
        "POST", f"/api/messaging/conversations/{conversation}/messages", alice_token, {"content": "Into it"}, expect=201
    )
    assert unserved(in_it["id"]) == (conversation, None, False, False)
    assert old_server.served(in_it["id"])["content"] == "Into it"

    # A read: is_read and its naive-UTC read_at, as the legacy API answered them.
    read = relay.call("PUT", f"/api/direct-messages/{sent['id']}/read", bob_token)
    assert read["is_read"] is True
    assert old_server.served(sent["id"]) == read
    read_at = old_server.message(sent["id"])["read_at"]
    assert abs(read_at - OldServer.now()) < timedelta(minutes=1)  # UTC, not the server's local time

    # A conversation's read through the old conversation id: the carried "Hello Bob" and "Into it".
    marked = relay.call("PUT", f"/api/messaging/conversations/{conversation}/read", bob_token)
    assert marked == {"status": "ok", "marked_read": 2}
    for message_id in (synced["first"], in_it["id"]):
        row = old_server.message(message_id)
        assert row["is_read"] is True and row["read_at"] is not None and row["read_at"].tzinfo is None
    assert old_server.message(sent["id"])["read_at"] == read_at  # an earlier read keeps its time

    # A per-user delete: the caller's flag only; the other party's old server still serves it.
    assert relay.call("DELETE", f"/api/direct-messages/{reply['id']}", alice_token) == {"ok": True}
    assert unserved(reply["id"]) == (conversation, PNG, False, True)
    assert reply["id"] in {m[0] for m in old_server.visible(bob)}
    assert reply["id"] not in {m[0] for m in old_server.visible(alice)}

    # A whole-conversation delete, for bob only: his flag on each row of the pair, by his side of it.
    assert relay.call("DELETE", f"/api/messaging/conversations/{conversation}", bob_token) == {"ok": True}
    pair = [synced["first"], sent["id"], reply["id"], in_it["id"]]
    flags = {
        message_id: (row["is_deleted_by_sender"], row["is_deleted_by_receiver"])
        for message_id in pair
        for row in [old_server.message(message_id)]
    }
    assert flags == {
        synced["first"]: (False, True),
        sent["id"]: (False, True),
        reply["id"]: (True, True),  # bob sent it; alice had deleted it already
        in_it["id"]: (False, True),
    }
    assert old_server.visible(bob) == []
    assert [m[0] for m in old_server.visible(alice)] == [in_it["id"], sent["id"], synced["first"]]
    assert_verified()


def test_a_password_changed_on_the_password_page_is_checked_by_the_old_service(synced, old_server, live_server):
    """Django's password-change page (the API has no password endpoint): the old `users` row gets a bcrypt
    hash of the new password, which the old service checks, and the old password no longer passes there.
    """
    browser = Browser(live_server.url)
    status, _, location = browser.submit("/accounts/login/", {"username": "alice", "password": "alice-old-secret"})
    assert (status, location) == (302, "/inbox/")
    before = old_server.one("SELECT hashed_password FROM users WHERE id = %s", (synced["alice"],))

    status, page, location = browser.submit(
        "/accounts/password_change/",
        {
            "old_password": "alice-old-secret",
            "new_password1": "alice-page-secret-2",
            "new_password2": "alice-page-secret-2",
        },
    )
    assert (status, location) == (302, "/accounts/password_change/done/"), page[:500]
    stored = old_server.one("SELECT hashed_password FROM users WHERE id = %s", (synced["alice"],))
    assert stored != before and stored.startswith("$2b$")
    assert bcrypt.checkpw(b"alice-page-secret-2", stored.encode())
    assert not bcrypt.checkpw(b"alice-old-secret", stored.encode())
    assert User.objects.get(pk=synced["alice"]).password == f"bcrypt${stored}"  # the same hash on both sides

    # The new side agrees: the new password logs in over the API, the old one no longer does.
    Relay(live_server.url).login("alice", "alice-page-secret-2")
    status, _ = http_json(
        f"{live_server.url}/api/auth/token/", method="POST", body={"username": "alice", "password": "alice-old-secret"}
    )
    assert status == 401
    assert_verified()


def test_no_write_echoes_back(synced, old_server, live_server):
    """A mirrored write is not mirrored again: one old row per message, one new row per old row, and the old
    row keeps the old server's exact values (the carry's names are not written back).
    """
    sent = old_server.send(synced["alice"], synced["bob"], "no echo", data=PNG, name=None, type=None)
    assert old_server.one("SELECT file_name, file_type FROM direct_messages WHERE id = %s", (sent,)) == (None, None)
    assert Message.objects.get(pk=sent).attachment_name == f"attachment-{sent}"
    assert old_server.one("SELECT COUNT(*) FROM direct_messages") == Message.objects.count()


def _api_writer(relay: Relay, tokens: dict, sender: int, recipient: int, numbers: range, *, legacy: bool) -> tuple:
    """Sends from `sender` through the new API (or the legacy one), every third one read by its recipient
    through the new API: the statuses of the sends and of the reads, and the ids sent.
    """
    sends, reads, ids = Counter(), Counter(), []
    path, key = ("/api/direct-messages/", "content") if legacy else ("/api/messages/send", "body")
    for i in numbers:
        status, body = http_json(
            f"{relay.url}{path}",
            method="POST",
            body={"recipient_id" if not legacy else "receiver_id": recipient, key: f"api {sender} {i}"},
            token=tokens[sender],
        )
        sends[status] += 1
        if status != 201:
            continue
        ids.append(body["id"])
        if i % 3 == 0:
            status, _ = http_json(f"{relay.url}/api/messages/{body['id']}/read", method="POST", token=tokens[recipient])
            reads[status] += 1
    return sends, reads, ids


def test_concurrent_writers_on_both_sides_end_up_on_both_sides(synced, live_server):
    """4 API threads (2 on the new API, 2 on the legacy one) and 4 old-server threads, 20 sends each, every
    third one read: every row on both sides, no duplicate id, no 5xx. Halfway all writers stop at a barrier
    (the quiesced instant) and `copy_legacy_messages --dry-run --verify` passes with nothing left to copy;
    then they resume, and the verification passes again at the end.
    """
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    tokens = {alice: relay.login("alice", "alice-old-secret"), bob: relay.login("bob", "bob-old-secret")}
    writers, per_thread = 8, 20
    sends, reads, api_ids, old_ids = Counter(), Counter(), [], []
    lock = threading.Lock()
    at_pause: dict = {}

    def check_while_quiesced() -> None:
        """Run by one writer thread while every writer waits at the barrier (its own database connection)."""
        with lock:
            written = set(api_ids) | set(old_ids)
        out = io.StringIO()
        try:
            call_command("copy_legacy_messages", dry_run=True, verify=True, stdout=out)
        except CommandError as exc:
            out.write(f"\n{exc}")
        new_side = set(Message.objects.filter(pk__in=written).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM direct_messages WHERE id = ANY(%s)", [list(written)])
            old_side = {row[0] for row in cursor.fetchall()}
        at_pause.update(report=out.getvalue(), written=written, new_side=new_side, old_side=old_side)

    quiesce = threading.Barrier(writers, action=check_while_quiesced, timeout=60)
    halves = (range(per_thread // 2), range(per_thread // 2, per_thread))

    def work(index: int) -> None:
        sender, recipient = (alice, bob) if index % 2 else (bob, alice)
        for half, numbers in enumerate(halves):
            if half:
                quiesce.wait()
            if index < 4:
                sent, read, mine = _api_writer(relay, tokens, sender, recipient, numbers, legacy=index >= 2)
                with lock:
                    sends.update(sent)
                    reads.update(read)
                    api_ids.extend(mine)
                continue
            server = OldServer()
            try:
                for i in numbers:
                    message_id = server.send(sender, recipient, f"old {index} {i}")
                    if i % 3 == 0:
                        server.read(message_id)
                    with lock:
                        old_ids.append(message_id)
            finally:
                server.close()

    started = time.monotonic()
    _, errors = run_at_once(work, writers, timeout=120)
    assert errors == []
    assert time.monotonic() - started < 120

    # The quiesced instant: half of every writer's rows written, all of them on both sides, verified.
    assert len(at_pause["written"]) == writers * per_thread // 2
    assert at_pause["new_side"] == at_pause["old_side"] == at_pause["written"]
    assert "verification passed" in at_pause["report"], at_pause["report"]
    to_copy = re.search(r"^to copy: (.*)$", at_pause["report"], re.MULTILINE)
    assert to_copy and set(re.findall(r"\d+", to_copy.group(1))) == {"0"}, at_pause["report"]

    reads_per_thread = len(range(0, per_thread, 3))
    assert sends == {201: 4 * per_thread} and reads == {200: 4 * reads_per_thread}, (sends, reads)
    assert len(api_ids) == len(set(api_ids)) and len(old_ids) == len(set(old_ids))
    assert not set(api_ids) & set(old_ids)
    everything = set(api_ids) | set(old_ids)
    assert len(everything) == writers * per_thread
    new_side = set(Message.objects.filter(pk__in=everything).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM direct_messages WHERE id = ANY(%s)", [list(everything)])
        old_side = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT COUNT(*) FROM direct_messages WHERE id = ANY(%s) AND is_read", [list(everything)])
        old_reads = cursor.fetchone()[0]
    assert new_side == old_side == everything
    assert old_reads == Message.objects.filter(pk__in=everything, read_at__isnull=False).count() == 8 * reads_per_thread
    assert_verified()


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


def test_a_fresh_database_has_the_sync_off(capsys):
    """A fresh database has the sync's triggers (migration 0009), none of them enabled."""
    assert sync.installed_triggers(connection) == 0
    call_command("legacy_sync", "status")
    assert "legacy sync: off" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_sequence_of_writes_on_both_sides_reads_the_same_on_both(synced, old_server, live_server, seed):
    """A random sequence of sends, reads, deletes, conversation deletes, hides and edits (the new side has them
    only), each on a random side:
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
        action = rng.choice(["send", "send", "read", "delete", "forget", "hide", "edit"]) if sent else "send"
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
        elif action == "edit":  # its sender's, where they still see it (else a 404, and nothing changes)
            status, _ = http_json(
                f"{live_server.url}/api/messages/{message_id}",
                method="PATCH",
                body={"body": f"edited {step}"},
                token=tokens[sender],
            )
            assert status in (200, 404), status
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


# How an old server may write a new conversation and its first message: the writes in order, grouped by the
# transaction that commits them (a group of one is a statement in autocommit, as the old ORM writes outside
# an explicit transaction).
OLD_CONVERSATION_WRITES = {
    "each statement on its own": [["conversation"], ["first"], ["second"], ["message"]],
    "all in one transaction": [["conversation", "first", "second", "message"]],
    "row and participants together, then the message": [["conversation", "first", "second"], ["message"]],
    "row, then both participants together": [["conversation"], ["first", "second"], ["message"]],
    "row with its first participant, then the second": [["conversation", "first"], ["second"], ["message"]],
    "message before the second participant": [["conversation"], ["first"], ["message"], ["second"]],
    "message before any participant": [["conversation"], ["message"], ["first"], ["second"]],
    "second participant with the message": [["conversation"], ["first"], ["second", "message"]],
}


def assert_copy_verified() -> None:
    """`copy_legacy_messages --dry-run --verify` passes, with nothing left to copy."""
    out = io.StringIO()
    try:
        call_command("copy_legacy_messages", dry_run=True, verify=True, stdout=out)
    except CommandError as exc:
        out.write(f"\n{exc}")
    report = out.getvalue()
    assert "verification passed" in report, report
    to_copy = re.search(r"^to copy: (.*)$", report, re.MULTILINE)
    assert to_copy and set(re.findall(r"\d+", to_copy.group(1))) == {"0"}, report


@pytest.mark.parametrize("known_pair", [False, True], ids=["new pair", "pair with an older id"])
@pytest.mark.parametrize("transactions", OLD_CONVERSATION_WRITES.values(), ids=OLD_CONVERSATION_WRITES)
def test_an_old_servers_new_conversation_is_served_under_its_id_whatever_its_transactions(
    synced, old_server, live_server, transactions, known_pair
):
    """The conversation an old server creates (its row, its two participants, a message in it), in any order
    and with any transaction boundaries, is served by the legacy API under the old id once its second
    participant is written (an alias where the pair already had an id), and the verification passes.
    """
    relay = Relay(live_server.url)
    bob = synced["bob"]
    first = synced["alice"] if known_pair else old_server.register("carol", "carol-old-secret", "Carol")
    tokens = {
        first: relay.login(
            "alice" if known_pair else "carol", "alice-old-secret" if known_pair else "carol-old-secret"
        ),
        bob: relay.login("bob", "bob-old-secret"),
    }

    conversation, message = old_server.start_conversation(
        first, bob, "A new old conversation", transactions=transactions
    )

    for user_id in (first, bob):
        rows = relay.call("GET", f"/api/messaging/conversations/{conversation}/messages", tokens[user_id])
        assert [(row["id"], row["conversation_id"]) for row in rows][-1] == (message, conversation)
        shown = relay.call("GET", f"/api/messaging/conversations/{conversation}", tokens[user_id])
        assert sorted(person["id"] for person in shown["participants"]) == sorted((first, bob))
    assert_copy_verified()


def wait_for_lock_waiters(count: int) -> None:
    """Return once `count` sessions of this database wait for a lock (old servers' commits held mid-trigger)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions waited for a lock")


def test_two_participants_committed_side_by_side_map_the_conversation_to_its_pair(synced, old_server, live_server):
    """Two old connections each add one participant of a conversation whose row is committed, and commit at
    the same moment: the conversation is served under its id, and the verification passes.

    Their commits are held (a third session locks the conversation map) until both are inside the sync's
    trigger, so each starts while the other's participant is not committed yet. Which one then reads first
    is up to the scheduler, so it is done for several conversations.
    """
    relay = Relay(live_server.url)
    bob = synced["bob"]
    carol = old_server.register("carol", "carol-old-secret", "Carol")
    token = relay.login("carol", "carol-old-secret")
    errors: list[BaseException] = []

    def commit(server: OldServer) -> None:
        try:
            server.conn.execute("COMMIT")
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    for _ in range(5):
        conversation = old_server.new_conversation_row()
        servers, holder = [OldServer(), OldServer()], OldServer()
        try:
            for server, user_id in zip(servers, (carol, bob), strict=True):
                server.conn.execute("BEGIN")
                server.join(conversation, user_id)
            with holder.conn.transaction():
                holder.conn.execute("LOCK TABLE legacy_dm_conversation IN ACCESS EXCLUSIVE MODE")
                threads = [threading.Thread(target=commit, args=(server,), daemon=True) for server in servers]
                for thread in threads:
                    thread.start()
                wait_for_lock_waiters(2)
            for thread in threads:
                thread.join(timeout=30)
        finally:
            for server in (*servers, holder):
                server.close()
        assert errors == []

        message = old_server.send(carol, bob, "Its participants committed at once", conversation=conversation)
        rows = relay.call("GET", f"/api/messaging/conversations/{conversation}/messages", token)
        assert [(row["id"], row["conversation_id"]) for row in rows][-1] == (message, conversation)
    assert_copy_verified()


def test_an_old_servers_participant_waits_for_relay_naming_the_same_pair_and_becomes_its_alias(
    synced, old_server, live_server
):
    """While an old server adds the second participant of its new conversation, Relay opens a conversation
    of the same pair (its transaction not yet committed): the old server's write succeeds, once Relay's
    commits, and its id becomes an alias of the id Relay gave the pair; both ids serve the pair.
    """
    from legacy_dm.conversations import open_conversation

    relay = Relay(live_server.url)
    bob = synced["bob"]
    carol = old_server.register("carol", "carol-old-secret", "Carol")
    conversation = old_server.new_conversation_row()
    old_server.join(conversation, carol)
    opened, commit_relay, relay_id, errors = threading.Event(), threading.Event(), [], []

    def relay_opens() -> None:
        try:
            with transaction.atomic():
                relay_id.append(open_conversation(user=User.objects.get(pk=carol), participant_id=bob)[0].pk)
                opened.set()
                assert commit_relay.wait(timeout=30)
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            opened.set()
            connections.close_all()

    def old_server_joins() -> None:
        server = OldServer()
        try:
            server.join(conversation, bob)
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            server.close()

    relay_thread = threading.Thread(target=relay_opens, daemon=True)
    relay_thread.start()
    assert opened.wait(timeout=30)
    old_thread = threading.Thread(target=old_server_joins, daemon=True)
    old_thread.start()
    try:
        wait_for_lock_waiters(1)  # the old server's trigger waits for Relay's row of the pair
    finally:
        commit_relay.set()
        relay_thread.join(timeout=30)
        old_thread.join(timeout=30)
    assert errors == []

    [pair_id] = relay_id
    assert pair_id != conversation
    token = relay.login("carol", "carol-old-secret")
    for conversation_id in (conversation, pair_id):
        shown = relay.call("GET", f"/api/messaging/conversations/{conversation_id}", token)
        assert (shown["id"], sorted(person["id"] for person in shown["participants"])) == (
            conversation_id,
            sorted((carol, bob)),
        )
    assert_copy_verified()


def test_the_migration_gives_a_running_sync_the_new_functions_and_maps_what_the_old_ones_left(
    synced, old_server, live_server
):
    """A sync turned on by an earlier version left an old server's new conversation without its pair (its
    participants' function carried nothing of them, as the earlier one carried nothing for a conversation
    committed before them): `legacy_dm` 0007 maps it, and the functions it installs map the next one.
    """
    relay = Relay(live_server.url)
    bob = synced["bob"]
    carol = old_server.register("carol", "carol-old-secret", "Carol")
    token = relay.login("carol", "carol-old-secret")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION relay_sync_participants_to_new() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RETURN NULL; END $$"
        )
    left = old_server.new_conversation_row()
    old_server.join(left, carol)
    old_server.join(left, bob)
    relay.call("GET", f"/api/messaging/conversations/{left}", token, expect=404)

    call_command("migrate", "legacy_dm", "0006", verbosity=0)
    call_command("migrate", "legacy_dm", verbosity=0)
    assert relay.call("GET", f"/api/messaging/conversations/{left}", token)["id"] == left
    assert sync.installed_triggers(connection) == sync.expected_triggers(connection)
    later, message = old_server.start_conversation(
        carol, bob, "Later", transactions=[["conversation"], ["first"], ["second"], ["message"]]
    )
    rows = relay.call("GET", f"/api/messaging/conversations/{later}/messages", token)
    assert [(row["id"], row["conversation_id"]) for row in rows][-1] == (message, later)
    assert_copy_verified()


def test_a_message_marked_unread_on_the_new_side_is_unread_in_the_old_tables(synced, old_server):
    """Old servers' clients see "Mark as unread" too: the sync carries the cleared read to the old row."""
    bob = User.objects.get(pk=synced["bob"])
    services.mark_conversation_read(user=bob, other_id=synced["alice"])
    assert old_server.one("SELECT is_read FROM direct_messages WHERE id = %s", (synced["first"],)) is True
    assert services.mark_unread(user=bob, message_id=synced["first"]) == 1
    row = old_server.one("SELECT is_read, read_at FROM direct_messages WHERE id = %s", (synced["first"],))
    assert tuple(row) == (False, None)
    assert_verified()


def test_an_edit_on_the_new_side_is_the_old_rows_content_at_once(synced, old_server, live_server):
    """A message edited through the API, sent by Relay or carried from the old days: the old row's content is
    the new body, in the edit's transaction, so old servers serve exactly what the legacy API answers; its
    read and delete state stay, and the verification passes (the checksum covers the body)."""
    relay = Relay(live_server.url)
    bob = synced["bob"]
    alice_token, bob_token = relay.login("alice", "alice-old-secret"), relay.login("bob", "bob-old-secret")

    sent = relay.call(
        "POST", "/api/messages/send", alice_token, {"recipient_id": bob, "body": "Dinner at 7"}, expect=201
    )
    relay.call("POST", f"/api/messages/{sent['id']}/read", bob_token)
    edited = relay.call("PATCH", f"/api/messages/{sent['id']}", alice_token, {"body": "Dinner at 8"})
    assert edited["body"] == "Dinner at 8" and edited["edited_at"]
    row = old_server.message(sent["id"])
    assert (row["content"], row["is_read"], row["is_deleted_by_sender"]) == ("Dinner at 8", True, False)
    assert row["updated_at"] is not None and row["updated_at"] >= row["read_at"]
    for token in (alice_token, bob_token):
        assert old_server.served(sent["id"]) == relay.call("GET", f"/api/direct-messages/{sent['id']}", token)
    assert (sent["id"], "Dinner at 8", True) in old_server.visible(bob)

    # The carried message of the old days (its sender is alice): edited on the new side, followed on the old.
    relay.call("PATCH", f"/api/messages/{synced['first']}", alice_token, {"body": "Hello Bob, from the new days"})
    assert old_server.message(synced["first"])["content"] == "Hello Bob, from the new days"
    assert old_server.served(synced["first"]) == relay.call("GET", f"/api/direct-messages/{synced['first']}", bob_token)


def test_a_message_unsent_on_the_new_side_is_no_longer_served_by_old_servers(synced, old_server, live_server):
    """Unsend sets both delete marks: the sync's update trigger carries them to the old row, so old servers stop
    serving it to either person; an old client's later write to the row (a read) brings nothing back."""
    relay = Relay(live_server.url)
    alice, bob = synced["alice"], synced["bob"]
    alice_token, bob_token = relay.login("alice", "alice-old-secret"), relay.login("bob", "bob-old-secret")
    sent = relay.call("POST", "/api/messages/send", alice_token, {"recipient_id": bob, "body": "wrong person"}, 201)
    assert sent["id"] in {m[0] for m in old_server.visible(bob)}
    assert sent["id"] in {m[0] for m in old_server.visible(alice)}

    relay.call("DELETE", f"/api/messages/{sent['id']}?for=everyone", alice_token, expect=204)
    assert old_server.one(
        "SELECT content, is_deleted_by_sender, is_deleted_by_receiver FROM direct_messages WHERE id = %s",
        (sent["id"],),
    ) == ("wrong person", True, True)
    assert sent["id"] not in {m[0] for m in old_server.visible(bob)}
    assert sent["id"] not in {m[0] for m in old_server.visible(alice)}
    assert synced["first"] in {m[0] for m in old_server.visible(bob)}  # the rest of the thread stays

    old_server.read(sent["id"])  # bob's old client still had it on screen
    relay.call("GET", f"/api/messages/{sent['id']}", bob_token, expect=404)
    assert sent["id"] not in {m["id"] for m in relay.thread(bob_token, alice)}
    stored = Message.objects.get(pk=sent["id"])
    assert stored.unsent_at is not None and stored.body == "wrong person"
    assert conversations.verify() == []
    assert_verified()
