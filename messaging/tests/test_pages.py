"""The inbox pages through the test client: statuses, contents, forms, CSRF, escaping, 404s and blocking."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from messaging import broker as broker_module
from messaging.models import Message, UserBlock
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_web(bob):
    client = Client()
    client.force_login(bob)
    return client


def message_ids(response):
    return [int(pk) for pk in re.findall(r'data-message-id="(\d+)"', response.content.decode())]


def unread_badges(response):
    return dict(
        (int(user_id), int(n))
        for user_id, n in re.findall(r'href="/inbox/with/(\d+)/"\s+data-unread="(\d+)"', response.content.decode())
    )


# --- Login, logout, redirects ------------------------------------------------------------------------------


def test_root_redirects_to_inbox(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"


@pytest.mark.parametrize(
    "path", ["/inbox/", "/inbox/with/1/", "/inbox/compose/", "/inbox/search/?q=x", "/inbox/messages/1/attachment/"]
)
def test_anonymous_visitors_go_to_login_with_next(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/inbox/")


def test_login_page_logs_in_and_goes_to_next(client, alice):
    response = client.get("/accounts/login/?next=/inbox/search/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="username"' in content and 'name="password"' in content
    assert '<label for="id_username">' in content and '<label for="id_password">' in content
    assert content.count("<h1") == 1
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD, "next": "/inbox/search/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/inbox/search/"
    assert client.get("/inbox/").status_code == 200


def test_wrong_password_stays_on_login_page(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logout_is_a_post(alice_web):
    assert alice_web.get("/accounts/logout/").status_code == 405
    response = alice_web.post("/accounts/logout/")
    assert response.status_code == 302
    assert alice_web.get("/inbox/").status_code == 302


def test_pages_carry_a_content_security_policy(alice_web, client):
    for response in (alice_web.get("/inbox/"), Client().get("/accounts/login/")):
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp  # live.js from this origin, nothing inline
        assert "unsafe-inline" not in csp


# --- Inbox ------------------------------------------------------------------------------------------------


def test_inbox_lists_conversations_newest_first_with_unread_badges(alice_web, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice, body="old from bob")
    MessageFactory(sender=carol, recipient=alice, body="first from carol")
    MessageFactory(sender=carol, recipient=alice, body="second from carol")
    MessageFactory(sender=alice, recipient=bob, body="newest, to bob")
    response = alice_web.get("/inbox/")
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count("<h1") == 1
    badges = unread_badges(response)
    assert badges == {bob.pk: 1, carol.pk: 2}
    assert list(badges) == [bob.pk, carol.pk]  # newest activity first
    assert "You: newest, to bob" in content
    assert "second from carol" in content and "first from carol" not in content


def test_every_page_shows_the_unread_count_in_the_nav_and_title_without_javascript(alice_web, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice, body="one")
    MessageFactory(sender=carol, recipient=alice, body="two")
    for path in (
        "/inbox/",
        f"/inbox/with/{alice.pk}/",
        "/inbox/search/?q=one",
        "/inbox/compose/",
        "/accounts/settings/",
    ):
        html = alice_web.get(path).content.decode()
        title = re.search(r"<title>(.*?)</title>", html).group(1)
        assert title.startswith("(2) ") and title.endswith(" · Relay"), (path, title)
        nav = re.search(r'<nav aria-label="Main">.*?</nav>', html, re.S).group(0)
        assert re.search(r"<span class=\"badge nav-badge\" data-live-unread>2<", nav), path
    # Opening bob's thread reads his message: one left, and the badge says so.
    html = alice_web.get(f"/inbox/with/{bob.pk}/").content.decode()
    assert "<title>(1) " in html


def test_pages_load_the_live_script_from_where_the_page_was_read(alice_web, alice, bob, settings):
    settings.REDIS_URL = ""
    broker_module.reset_broker()
    try:
        MessageFactory(sender=bob, recipient=alice, body="one")
        newest = broker_module.broker().publish(alice.pk, "unread_count", {"unread_count": 1})
        html = alice_web.get("/inbox/").content.decode()
        script = re.search(r'<script src="([^"]+)" data-events="([^"]+)" defer></script>', html)
        assert script.group(1).endswith("messaging/live.js")
        assert script.group(2) == f"/api/messages/events?last_event_id={newest}"
        assert "live.js" not in Client().get("/accounts/login/").content.decode()  # nobody to stream for
    finally:
        broker_module.reset_broker()


def test_inbox_is_paginated_in_constant_queries(alice_web, alice, django_assert_max_num_queries):
    for i in range(25):
        MessageFactory(sender=UserFactory(username=f"friend{i}"), recipient=alice)
    with django_assert_max_num_queries(4):
        first = alice_web.get("/inbox/")
    assert len(unread_badges(first)) == 20
    assert b"Page 1 of 2" in first.content
    # A page asked by number is one read with its count (5 on 6c196d6: the paginator read the count first).
    with django_assert_max_num_queries(4):
        second = alice_web.get("/inbox/?page=2")
    assert len(unread_badges(second)) == 5
    # A page that is not a number shows the first page rather than an error, one past the end the last.
    assert b"Page 1 of 2" in alice_web.get("/inbox/?page=abc").content
    assert b"Page 2 of 2" in alice_web.get("/inbox/?page=9").content
    assert b"Page 2 of 2" in alice_web.get("/inbox/?page=0").content


# --- Thread -----------------------------------------------------------------------------------------------


def test_thread_shows_messages_oldest_first_and_marks_them_read(alice_web, alice, bob, bob_client):
    first = MessageFactory(sender=bob, recipient=alice, body="first")
    second = MessageFactory(sender=alice, recipient=bob, body="second", reply_to=first)
    third = MessageFactory(sender=bob, recipient=alice, body="third")
    AttachmentMessageFactory(sender=carol_user(), recipient=alice)  # another conversation stays unread
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert response.status_code == 200
    assert message_ids(response) == [first.pk, second.pk, third.pk]
    content = response.content.decode()
    assert content.count("<h1") == 1
    assert 'name="body"' in content and 'name="attachment"' in content
    assert 'enctype="multipart/form-data"' in content
    assert 'class="reply-to">first<' in content
    assert Message.objects.unread_for(alice).filter(sender=bob).count() == 0
    assert Message.objects.unread_for(alice).count() == 1
    # The sender sees it read through the API too.
    assert bob_client.get(f"/api/messages/{third.pk}").json()["is_read"] is True


def carol_user():
    return UserFactory(username="carol")


def test_thread_opens_at_the_newest_and_links_to_older_messages(alice_web, alice, bob):
    made = [MessageFactory(sender=bob, recipient=alice, body=f"m{i}") for i in range(35)]
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    shown = message_ids(response)
    assert shown == [m.pk for m in made[-31:]]  # the newest and 30 before it
    older = re.search(r'href="([^"]+)" rel="prev">Load older messages', response.content.decode())
    assert older and older.group(1) == f"/inbox/with/{bob.pk}/?anchor={made[4].pk}&amp;num_after=0#message-{made[4].pk}"
    response = alice_web.get(older.group(1).replace("&amp;", "&"))
    assert message_ids(response) == [m.pk for m in made[:5]]
    assert b"Load newer messages" in response.content and b"Load older messages" not in response.content
    # The links of the pages by cursor lead to the newest messages.
    for cursor in ("garbage", "cD0yMDI2"):
        assert alice_web.get(f"/inbox/with/{bob.pk}/?cursor={cursor}")["Location"] == f"/inbox/with/{bob.pk}/"


def test_thread_queries_do_not_grow_with_messages(alice_web, alice, bob, django_assert_max_num_queries):
    for i in range(30):
        MessageFactory(sender=bob if i % 2 else alice, recipient=alice if i % 2 else bob, body=f"m{i}")
    # The session, its user, bob, marking read, the page, the relation (blocks, mute), the nav's counts: bob
    # is looked up once (twice before, by the page and by the service that marks the conversation read).
    with django_assert_max_num_queries(7):
        response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert len(message_ids(response)) == 30


def test_reply_with_attachment_then_download(alice_web, alice, bob, bob_client):
    upload = SimpleUploadedFile("notes.txt", b"meeting notes", content_type="text/plain")
    response = alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "see the notes", "attachment": upload})
    assert response.status_code == 302
    message = Message.objects.get(sender=alice, recipient=bob)
    assert response["Location"] == f"/inbox/with/{bob.pk}/#message-{message.pk}"
    assert (message.body, message.attachment_name, bytes(message.attachment_data)) == (
        "see the notes",
        "notes.txt",
        b"meeting notes",
    )
    page = alice_web.get(response["Location"])
    assert b"Message sent." in page.content
    assert f'href="/inbox/messages/{message.pk}/attachment/"'.encode() in page.content
    # Bob sees it through the API; the page's download has the API's headers.
    assert bob_client.get(f"/api/messages/{message.pk}").status_code == 200
    download = alice_web.get(f"/inbox/messages/{message.pk}/attachment/")
    api_download = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert download.content == b"meeting notes"
    for header in ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy"):
        assert download[header] == api_download[header]


def test_reply_to_a_message(alice_web, alice, bob):
    original = MessageFactory(sender=bob, recipient=alice, body="a question")
    page = alice_web.get(f"/inbox/with/{bob.pk}/?reply_to={original.pk}")
    assert f'name="reply_to" value="{original.pk}"'.encode() in page.content
    alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "the answer", "reply_to": original.pk})
    assert Message.objects.get(body="the answer").reply_to == original


def test_empty_reply_shows_the_services_error(alice_web, bob):
    response = alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "   "})
    assert response.status_code == 400
    assert b"A message needs a body or an attachment." in response.content
    assert not Message.objects.exists()


def test_too_large_attachment_is_a_form_error(alice_web, bob, settings):
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 10
    upload = SimpleUploadedFile("big.bin", b"x" * 11, content_type="application/octet-stream")
    response = alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "big", "attachment": upload})
    assert response.status_code == 400
    assert b"larger than the limit of 10 bytes" in response.content
    assert not Message.objects.exists()


def test_bodies_are_escaped(alice_web, alice, bob):
    MessageFactory(sender=bob, recipient=alice, body="<script>alert('x')</script> greetings")
    # PostgreSQL's text search parser skips what looks like an HTML tag, so search for the plain word.
    for path in (f"/inbox/with/{bob.pk}/", "/inbox/", "/inbox/search/?q=greetings"):
        content = alice_web.get(path).content.decode()
        assert "<script>alert" not in content, path
        assert "&lt;script&gt;alert(" in content, path


def test_thread_with_unknown_user_is_404(alice_web, alice):
    response = alice_web.get("/inbox/with/999999/")
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_carried_messages_to_oneself_are_listed_and_readable_but_not_writable(alice_web, alice):
    """The old system allowed them; the inbox lists the self-pair, so its link must open it (read-only)."""
    note = MessageFactory(sender=alice, recipient=alice, body="note to self", legacy_id=5)
    inbox = alice_web.get("/inbox/").content.decode()
    assert f'href="/inbox/with/{alice.pk}/' in inbox
    page = alice_web.get(f"/inbox/with/{alice.pk}/")
    assert page.status_code == 200
    assert f'data-message-id="{note.pk}"' in page.content.decode()
    assert b'name="body"' not in page.content
    refused = alice_web.post(f"/inbox/with/{alice.pk}/", {"body": "another note"})
    assert refused.status_code == 400
    assert Message.objects.filter(sender=alice).count() == 1


def test_other_users_messages_are_404(alice_web, bob, carol):
    theirs = AttachmentMessageFactory(sender=bob, recipient=carol)
    assert alice_web.get(f"/inbox/messages/{theirs.pk}/attachment/").status_code == 404
    assert alice_web.post(f"/inbox/messages/{theirs.pk}/delete/").status_code == 404
    # Alice's thread with Bob does not show Bob's messages to Carol.
    assert message_ids(alice_web.get(f"/inbox/with/{bob.pk}/")) == []
    theirs.refresh_from_db()
    assert theirs.sender_deleted_at is None and theirs.recipient_deleted_at is None


def test_hidden_messages_are_not_shown(alice_web, alice, bob):
    hidden = MessageFactory(sender=bob, recipient=alice, body="hidden words")
    Message.objects.filter(pk=hidden.pk).update(hidden_at=hidden.created_at, hidden_reason="abuse")
    # Only a placeholder in its place (test_removed_placeholder.py), never its words.
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert message_ids(response) == [hidden.pk]
    assert b"Removed by a moderator" in response.content and b"hidden words" not in response.content
    assert alice_web.get(f"/inbox/messages/{hidden.pk}/attachment/").status_code == 404


# --- Delete, compose, search ------------------------------------------------------------------------------


def test_delete_for_me_keeps_it_for_the_other_person(alice_web, bob_web, alice, bob):
    message = MessageFactory(sender=bob, recipient=alice, body="to be deleted")
    assert alice_web.get(f"/inbox/messages/{message.pk}/delete/").status_code == 405
    response = alice_web.post(f"/inbox/messages/{message.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/with/{bob.pk}/"
    assert message_ids(alice_web.get(f"/inbox/with/{bob.pk}/")) == []
    assert message_ids(bob_web.get(f"/inbox/with/{alice.pk}/")) == [message.pk]


def test_compose_lists_participants_and_sends(alice_web, alice, bob, carol):
    response = alice_web.get("/inbox/compose/")
    assert response.status_code == 200
    content = response.content.decode()
    assert '<label for="id_recipient">' in content
    assert f'<option value="{bob.pk}">bob</option>' in content
    assert f'<option value="{carol.pk}">Carol (@carol)</option>' in content
    assert f'value="{alice.pk}"' not in content
    narrowed = alice_web.get("/inbox/compose/?search=car").content.decode()
    assert f'value="{carol.pk}"' in narrowed and f'value="{bob.pk}"' not in narrowed
    response = alice_web.post("/inbox/compose/", {"recipient": carol.pk, "body": "hello carol"})
    message = Message.objects.get(body="hello carol")
    assert (message.sender, message.recipient) == (alice, carol)
    assert response["Location"] == f"/inbox/with/{carol.pk}/#message-{message.pk}"


def test_compose_refuses_unknown_recipient(alice_web):
    response = alice_web.post("/inbox/compose/", {"recipient": 999999, "body": "hi"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_search_finds_messages_and_links_to_their_thread(alice_web, alice, bob):
    match = MessageFactory(sender=bob, recipient=alice, body="the quarterly report is ready")
    MessageFactory(sender=bob, recipient=alice, body="lunch?")
    response = alice_web.get("/inbox/search/?q=quarterly")
    assert response.status_code == 200
    assert message_ids(response) == [match.pk]
    assert f'href="/inbox/with/{bob.pk}/?anchor={match.pk}#message-{match.pk}"'.encode() in response.content
    empty = alice_web.get("/inbox/search/")
    assert empty.status_code == 200 and message_ids(empty) == []
    assert '<label for="id_q">' in empty.content.decode()


# --- Blocking ---------------------------------------------------------------------------------------------


def test_block_and_unblock_from_the_thread(alice_web, bob_web, alice, bob):
    response = alice_web.post(f"/inbox/block/{bob.pk}/", {"action": "block"}, follow=True)
    assert response.status_code == 200
    assert UserBlock.objects.filter(blocker=alice, blocked=bob).exists()
    assert b"You blocked bob" in response.content
    assert b"Unblock bob" in response.content
    # Bob's reply is refused with the service's reason, on his form.
    refused = bob_web.post(f"/inbox/with/{alice.pk}/", {"body": "let me talk"})
    assert refused.status_code == 400
    assert b"does not accept messages from you" in refused.content
    assert not Message.objects.exists()
    # Alice may still write to Bob: the compose page offers him, marked.
    assert f'value="{bob.pk}" selected>bob (blocked)</option>'.encode() in alice_web.get("/inbox/compose/").content
    alice_web.post(f"/inbox/block/{bob.pk}/", {"action": "unblock"})
    assert not UserBlock.objects.exists()
    assert bob_web.post(f"/inbox/with/{alice.pk}/", {"body": "thanks"}).status_code == 302


def test_block_self_or_unknown(alice_web, alice):
    response = alice_web.post(f"/inbox/block/{alice.pk}/", follow=True)
    assert b"You cannot block yourself." in response.content
    assert alice_web.post("/inbox/block/999999/").status_code == 404
    assert alice_web.get("/inbox/block/999999/").status_code == 405


# --- CSRF -------------------------------------------------------------------------------------------------


def test_forms_need_the_csrf_token(alice, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(f"/inbox/with/{bob.pk}/", {"body": "forged"})
    assert response.status_code == 403
    assert client.post(f"/inbox/block/{bob.pk}/").status_code == 403
    assert not Message.objects.exists() and not UserBlock.objects.exists()
    page = client.get(f"/inbox/with/{bob.pk}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(f"/inbox/with/{bob.pk}/", {"body": "real", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Message.objects.filter(body="real").exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/inbox/with/{big}/"),
        ("post", "/inbox/messages/{big}/delete/"),
        ("get", "/inbox/messages/{big}/attachment/"),
        ("post", "/inbox/block/{big}/"),
    ],
)
def test_ids_out_of_any_range_are_404(alice_web, method, path):
    response = getattr(alice_web, method)(path.format(big=10**30))
    assert response.status_code == 404


def test_odd_query_strings_are_harmless(alice_web, bob):
    assert alice_web.get(f"/inbox/compose/?to={10**30}").status_code == 200
    assert alice_web.get(f"/inbox/with/{bob.pk}/?reply_to={10**30}").status_code == 200
    assert alice_web.get("/inbox/search/?q=%00abc").status_code == 200
    response = alice_web.get("/inbox/search/?q=" + "x" * 600)
    assert response.status_code == 200
    assert b"Ensure this value has at most 200 characters" in response.content
