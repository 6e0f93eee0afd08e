"""Clients generated from the served `/api/schema/` run a client's day against a live server.

openapi-python-client (Python) and openapi-typescript + openapi-fetch (TypeScript, compiled with `tsc
--strict`) are each generated during the test from the live server's schema, then used as their users would:
log in, find a person, send text and a file (multipart and base64 JSON), list the conversations, page a
thread, mark it read, search, mute, edit the file's message, download the file, delete a message, read the unread count and open the
event stream (200, `text/event-stream`, a `retry:` line first). A schema that generates a module that does
not import, or types that do not compile, or a client that cannot send, fails here.

The TypeScript tools are pinned in clients/package.json and installed by `.ci/run` (`npm ci` in clients/);
without them the test is skipped, which `RELAY_REQUIRE_SERVICES=1` (CI) turns into a failure.
"""

import base64
import importlib
import io
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from messaging import broker as broker_module
from messaging import services
from messaging.models import ConversationMute, Message
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

CLIENTS = Path(django_settings.BASE_DIR) / "clients"
NODE_BIN = CLIENTS / "node_modules" / ".bin"
PACKAGE = "relay_client"
# No formatting of the generated code (the generator's default runs ruff over it): nothing here reads it.
PYTHON_CLIENT_CONFIG = f"package_name_override: {PACKAGE}\npost_hooks: []\n"


@pytest.fixture
def day(live_server, transactional_db, settings):
    """alice and bob on a live server; bob has written to alice twice. The in-process event broker."""
    settings.REDIS_URL = ""
    broker_module.reset_broker()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for body in ("first from bob", "second from bob"):
        services.send_message(sender=bob, recipient_id=alice.pk, body=body)
    yield live_server.url, alice, bob
    broker_module.reset_broker()


def assert_the_day_happened(alice, bob, *, sent: list[int], deleted: int) -> None:
    """What the scenario did is in the database: three messages sent, the file's (the second) edited, one
    deleted for alice, bob muted, read."""
    messages = Message.objects.filter(pk__in=sent)
    assert messages.count() == 3 and {m.sender_id for m in messages} == {alice.pk}
    edited = messages.get(pk=sent[1])
    assert (edited.body, edited.attachment_name) == ("a file, with notes", "notes.txt") and edited.edited_at
    assert Message.objects.get(pk=deleted).sender_deleted_at is not None
    assert ConversationMute.objects.filter(user=alice, partner=bob).exists()
    assert not Message.objects.filter(recipient=alice, read_at=None).exists()


def generate_python_client(url: str, where: Path):
    config = where / "config.yaml"
    config.write_text(PYTHON_CLIENT_CONFIG)
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--url", f"{url}/api/schema/?format=json"]
        + ["--meta", "none", "--output-path", str(where / PACKAGE), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Unable to" not in generated.stdout and "will be omitted" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(where))
    try:
        package = importlib.import_module(PACKAGE)
        # Every module imports (openapi-python-client writes some that do not, for some schemas).
        for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            importlib.import_module(module.name)
    finally:
        sys.path.remove(str(where))
    return package


@pytest.fixture
def python_client(day, tmp_path):
    url = day[0]
    package = generate_python_client(url, tmp_path)
    yield package
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_the_openapi_python_client_runs_a_clients_day(day, python_client):
    url, alice, bob = day
    client_module = importlib.import_module(f"{PACKAGE}.client")
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")

    def operation(tag: str, name: str):
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")

    # Log in.
    anonymous = client_module.Client(base_url=url, raise_on_unexpected_status=True)
    tokens = operation("auth", "api_auth_token_create").sync(
        client=anonymous, body=models.TokenObtainPairRequest(username="alice", password=DEFAULT_PASSWORD)
    )
    assert isinstance(tokens, models.TokenObtainPair), tokens
    api = client_module.AuthenticatedClient(base_url=url, token=tokens.access, raise_on_unexpected_status=True)

    # Find a person.
    people = operation("conversations", "api_messages_participants_list").sync(client=api, search="bo")
    (person,) = [p for p in people.results if p.username == "bob"]

    # Send text, a file as multipart, a file as base64 JSON.
    send = operation("messages", "api_messages_send_create")
    text = send.sync(client=api, body=models.SendMessageRequest(recipient_id=person.id, body="Hello from Python"))
    assert isinstance(text, models.Message) and text.reply_to is None and text.attachment is None
    file_bytes = b"notes from openapi-python-client\n"
    upload = send.sync(
        client=api,
        body=models.SendMessageMultipartRequest(
            recipient_id=person.id,
            body="a file",
            attachment=types.File(payload=io.BytesIO(file_bytes), file_name="notes.txt", mime_type="text/plain"),
        ),
    )
    assert isinstance(upload, models.Message), upload
    assert upload.attachment.name == "notes.txt" and upload.attachment.size == len(file_bytes)
    encoded = send.sync(
        client=api,
        body=models.SendMessageRequest(
            recipient_id=person.id,
            attachment=models.Base64AttachmentRequest(
                name="b64.txt", content_type="text/plain", data=base64.b64encode(b"base64 bytes").decode()
            ),
        ),
    )
    assert isinstance(encoded, models.Message) and encoded.attachment.size == 12

    # List the conversations.
    conversations = operation("conversations", "api_messages_conversations_list").sync(client=api)
    (row,) = [row for row in conversations.results if row.participant.id == person.id]
    assert row.last_message.id == encoded.id

    # Page the thread by cursor.
    thread = operation("conversations", "api_messages_with_list")
    first = thread.sync(person.id, client=api, page_size=2)
    cursor = first.next_.split("cursor=", 1)[1].split("&", 1)[0]
    second = thread.sync(person.id, client=api, page_size=2, cursor=cursor)
    assert len({m.id for m in [*first.results, *second.results]}) == 4
    # Around the newest message: the other shape of the thread's answer.
    around = thread.sync(person.id, client=api, anchor="newest", num_before=1)
    assert isinstance(around, models.ThreadWindow), around
    assert around.anchor == encoded.id and around.found_newest and len(around.messages) == 2

    # Mark read, search, mute.
    marked = operation("conversations", "api_messages_mark_conversation_read_update").sync(person.id, client=api)
    assert marked.marked_read == 2
    found = operation("messages", "api_messages_search_create").sync(
        client=api, body=models.SearchRequest(query="Python", has_attachment=False)
    )
    assert [m.id for m in found.results] == [text.id]
    muted = operation("conversations", "api_messages_with_mute_update").sync(person.id, client=api)
    assert muted.muted is True

    # Edit the file's message: its body, not its file.
    edited = operation("messages", "api_messages_partial_update").sync(
        upload.id, client=api, body=models.EditMessageRequest(body="a file, with notes")
    )
    assert isinstance(edited, models.Message), edited
    assert (edited.body, edited.attachment.name) == ("a file, with notes", "notes.txt") and edited.edited_at

    # Download the file; delete a message; the unread count.
    download = operation("messages", "api_messages_attachment_retrieve").sync(upload.id, client=api)
    assert download.payload.read() == file_bytes
    deleted = operation("messages", "api_messages_destroy").sync_detailed(text.id, client=api)
    assert deleted.status_code == 204
    counts = operation("messages", "api_messages_unread_count_retrieve").sync(client=api)
    assert (counts.unread_count, counts.badge_count) == (0, 0)

    # Open the stream, with the generated client's own authenticated HTTP client (its generated function
    # would read the never-ending body to the end).
    with api.get_httpx_client().stream("GET", "/api/messages/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert next(stream.iter_lines()).startswith("retry:")

    assert_the_day_happened(alice, bob, sent=[text.id, upload.id, encoded.id], deleted=text.id)


def node_tools() -> tuple[str, Path, Path]:
    """node, and openapi-typescript and tsc from clients/node_modules, or a skip that says what is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the TypeScript client needs it")
    generator, compiler = NODE_BIN / "openapi-typescript", NODE_BIN / "tsc"
    if not (generator.exists() and compiler.exists() and (CLIENTS / "node_modules" / "openapi-fetch").exists()):
        pytest.skip("npm packages of clients/ are not installed (`npm ci` in clients/, as .ci/run does)")
    return node, generator, compiler


def test_openapi_typescript_and_openapi_fetch_run_a_clients_day(day, tmp_path):
    node, generator, compiler = node_tools()
    url, alice, bob = day
    for name in ("scenario.ts", "tsconfig.json", "package.json"):
        shutil.copy(CLIENTS / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(CLIENTS / "node_modules")

    def run(*command, timeout=300):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(node, generator, f"{url}/api/schema/?format=json", "--output", "relay-api.ts")
    run(node, compiler, "-p", ".", "--outDir", "out")
    report = json.loads(run(node, "out/scenario.js", url, "alice", DEFAULT_PASSWORD, "bob").strip().splitlines()[-1])

    assert report["partner"] == bob.pk and report["marked_read"] == 2
    assert report["stream_opening"].startswith("retry:")
    assert_the_day_happened(alice, bob, sent=report["sent"], deleted=report["deleted"])
