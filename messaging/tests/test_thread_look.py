"""How a thread's messages look, through the test client: groups of consecutive messages, initials avatars,
clickable links in escaped bodies, image previews served inline only for sniffed images, and the menus whose
forms work without JavaScript."""

import re
import struct
import zlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from messaging import services
from messaging.models import ConversationMute, Message, UserBlock
from messaging.templatetags.thread_look import AVATAR_COLOURS, initials, linkify
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from messaging.web.grouping import GROUP_WITHIN
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def png(width: int = 40, height: int = 30, rgb: tuple[int, int, int] = (36, 87, 197)) -> bytes:
    """A valid PNG of one colour, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_builder(bob):
    bob.display_name = "Bob Builder"
    bob.save()
    return bob


def page_of(client, other) -> str:
    response = client.get(f"/inbox/with/{other.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def message_li(content: str, message: Message) -> str:
    """The `<li>` of one message in a thread page."""
    found = re.search(rf'<li id="message-{message.pk}".*?</details>\s*</div>\s*</li>', content, re.DOTALL)
    assert found, f"message {message.pk} is not on the page"
    return found.group()


def body_html(content: str, message: Message) -> str:
    found = re.search(r'<div class="body">(.*?)</div>', message_li(content, message), re.DOTALL)
    assert found
    return found.group(1)


# --- Groups -------------------------------------------------------------------------------------------------


def test_consecutive_messages_of_one_sender_form_a_group(alice_web, alice, bob):
    """A message from the same person within GROUP_WITHIN of the one before joins its group; another sender or
    a longer pause starts a new one. Only the first of a group names its author."""
    start = (timezone.now() - timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0
    )  # the messages below share a day
    sent = [
        (bob, timedelta(0)),
        (bob, timedelta(minutes=1)),
        (bob, timedelta(minutes=1) + GROUP_WITHIN),  # exactly the limit after the one before: still grouped
        (alice, timedelta(minutes=7)),
        (alice, timedelta(minutes=8)),
        (bob, timedelta(minutes=9)),
        (bob, timedelta(minutes=9) + GROUP_WITHIN + timedelta(seconds=1)),  # just over: a new group
    ]
    made = [
        MessageFactory(sender=sender, recipient=alice if sender == bob else bob, created_at=start + offset)
        for sender, offset in sent
    ]
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    entries = response.context["thread_messages"]
    assert [entry.message.pk for entry in entries] == [m.pk for m in made]
    assert [entry.starts_group for entry in entries] == [True, False, False, True, False, True, True]

    content = response.content.decode()
    for message, starts in zip(made, [True, False, False, True, False, True, True], strict=True):
        li = message_li(content, message)
        assert ('class="author"' in li) is starts
        assert ('class="avatar' in li) is starts
        assert (" continued" in li.split(">", 1)[0]) is (not starts)
        # Every message keeps its anchor, its id for scripts and its side.
        side = "mine" if message.sender_id == alice.pk else "theirs"
        assert f'data-message-id="{message.pk}"' in li and f'class="message {side}' in li
        assert "<time datetime=" in li


def test_a_new_day_starts_a_new_group(alice_web, alice, bob, settings):
    """Two messages a few minutes apart on either side of midnight (in the current time zone) are two groups:
    the thread's day separator falls between them."""
    settings.TIME_ZONE = "UTC"
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for offset in (timedelta(minutes=-2), timedelta(minutes=1), timedelta(minutes=2)):
        MessageFactory(sender=bob, recipient=alice, created_at=midnight + offset)
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert [entry.starts_group for entry in response.context["thread_messages"]] == [True, True, False]


def test_the_first_message_of_a_page_starts_a_group(alice_web, alice, bob):
    """A page starts with a named author even when the message before it (on the older page) was the same
    person's a minute earlier."""
    start = (timezone.now() - timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0
    )  # the messages below share a day
    for i in range(35):
        MessageFactory(sender=bob, recipient=alice, created_at=start + timedelta(seconds=i))
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    flags = [entry.starts_group for entry in response.context["thread_messages"]]
    assert 1 < len(flags) < 35  # a page, not the whole thread
    assert flags == [True] + [False] * (len(flags) - 1)


# --- Avatars ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice Liddell", "AL"),
        ("bob", "B"),
        ("Jean-Luc Picard", "JP"),
        ("émile de la Zola", "ÉZ"),
        ("  ", "?"),
        ("<b>!</b>", "B"),
        ("王小明", "王"),
    ],
)
def test_initials_of_a_name(name, expected):
    assert initials(name) == expected


def test_avatars_show_initials_in_a_colour_fixed_by_the_person(alice_web, alice, bob_builder):
    MessageFactory(sender=bob_builder, recipient=alice, body="hello")
    MessageFactory(sender=alice, recipient=bob_builder, body="hi", created_at=timezone.now() + timedelta(seconds=1))
    content = page_of(alice_web, bob_builder)
    bob_avatar = f'<span class="avatar avatar-{bob_builder.pk % AVATAR_COLOURS}" aria-hidden="true">BB</span>'
    alice_avatar = f'<span class="avatar avatar-{alice.pk % AVATAR_COLOURS}" aria-hidden="true">AL</span>'
    # Bob's in the header and on his message; Alice's on hers.
    assert content.count(bob_avatar) == 2
    assert content.count(alice_avatar) == 1
    # No inline style anywhere (the CSP forbids it): the colour is a class.
    assert "style=" not in content


def test_an_avatar_escapes_the_name(alice_web, alice):
    mallory = UserFactory(username="mallory", display_name="<img src=x onerror=alert(1)>")
    MessageFactory(sender=mallory, recipient=alice, body="hello")
    content = page_of(alice_web, mallory)
    assert "<img src=x" not in content
    assert f'<span class="avatar avatar-{mallory.pk % AVATAR_COLOURS}" aria-hidden="true">IO</span>' in content


# --- Links --------------------------------------------------------------------------------------------------

LINK = '<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("see https://example.com/a?b=1&c=2", "see " + LINK.format(url="https://example.com/a?b=1&amp;c=2")),
        ("go to http://example.com.", "go to " + LINK.format(url="http://example.com") + "."),
        ("(docs: https://example.com/x)!", "(docs: " + LINK.format(url="https://example.com/x") + ")!"),
        (
            "https://en.wikipedia.org/wiki/Set_(mathematics)",
            LINK.format(url="https://en.wikipedia.org/wiki/Set_(mathematics)"),
        ),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        (
            'http://x.org/"onmouseover="alert(1)',
            LINK.format(url="http://x.org/") + "&quot;onmouseover=&quot;alert(1)",
        ),
        ("https://x.org/<script>", LINK.format(url="https://x.org/") + "&lt;script&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("JavaScript:alert(document.cookie)//http", "JavaScript:alert(document.cookie)//http"),
        ("data:text/html,<b>x</b>", "data:text/html,&lt;b&gt;x&lt;/b&gt;"),
        (
            "ftp://example.com and example.com and bob@example.com",
            "ftp://example.com and example.com and bob@example.com",
        ),
        ("http:// nothing", "http:// nothing"),
        ("HTTPS://EXAMPLE.COM", LINK.format(url="HTTPS://EXAMPLE.COM")),
        ("it's <b>bold</b> & 'quoted'", "it&#x27;s &lt;b&gt;bold&lt;/b&gt; &amp; &#x27;quoted&#x27;"),
    ],
)
def test_linkify_escapes_then_links_http_urls(body, expected):
    assert linkify(body) == expected


def test_message_bodies_link_urls_and_keep_line_breaks(alice_web, alice, bob):
    message = MessageFactory(
        sender=bob,
        recipient=alice,
        body='first line <script>alert("x")</script>\nhttps://example.com/page\n"onmouseover=alert(1) javascript:alert(1)',
    )
    assert body_html(page_of(alice_web, bob), message) == (
        "first line &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>"
        + LINK.format(url="https://example.com/page")
        + "<br>&quot;onmouseover=alert(1) javascript:alert(1)"
    )


def test_a_very_long_body_links_in_linear_time(alice_web, alice, bob):
    """No pattern that backtracks: the longest body of repeated URL-like text renders at once."""
    body = ("http://a" + "(" * 20 + ".") * 400
    message = MessageFactory(sender=bob, recipient=alice, body=body[:10_000])
    assert "<a href=" in body_html(page_of(alice_web, bob), message)


# --- Image previews -----------------------------------------------------------------------------------------


def send(sender, recipient, name, content_type, data, body=""):
    return services.send_message(
        sender=sender,
        recipient_id=recipient.pk,
        body=body,
        attachment=services.AttachmentInput(name=name, content_type=content_type, data=data),
    )


def test_an_image_shows_as_a_preview_served_inline(alice_web, alice, bob, django_assert_num_queries):
    image = png()
    message = send(bob, alice, "photo.png", "image/png", image)
    li = message_li(page_of(alice_web, bob), message)
    src = f"/inbox/messages/{message.pk}/image/"
    assert f'<img src="{src}" alt="Preview of photo.png" loading="lazy">' in li
    # The download link stays beside it.
    assert f'href="/inbox/messages/{message.pk}/attachment/" download>photo.png</a>' in li

    # The session, its user, the message.
    with django_assert_num_queries(3):
        response = alice_web.get(src)
    assert response.status_code == 200
    assert response.content == image
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline; filename=\"photo.png\"; filename*=UTF-8''photo.png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Length"] == str(len(image))


def test_the_preview_is_typed_by_the_bytes_not_by_the_claim(alice_web, alice, bob):
    """A PNG sent as image/jpeg is stored and served as what its bytes are."""
    message = send(bob, alice, "photo.jpg", "image/jpeg", png())
    assert message.attachment_content_type == "image/png"
    assert alice_web.get(f"/inbox/messages/{message.pk}/image/")["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "claimed", "data"),
    [
        ("plan.pdf", "application/pdf", b"%PDF-1.4 a tiny pdf"),
        ("drawing.svg", "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("page.png", "image/png", b"<html><script>alert(1)</script></html>"),
        ("notes.txt", "text/plain", b"just text"),
    ],
)
def test_what_is_not_a_sniffed_image_stays_a_download_link(alice_web, alice, bob, name, claimed, data):
    message = send(bob, alice, name, claimed, data)
    li = message_li(page_of(alice_web, bob), message)
    assert "<img" not in li and "/image/" not in li
    assert f'href="/inbox/messages/{message.pk}/attachment/" download>' in li
    assert alice_web.get(f"/inbox/messages/{message.pk}/image/").status_code == 404


def test_a_carried_row_that_lies_about_an_image_is_never_served_as_one(alice_web, alice, bob):
    """Rows carried from the old system kept the type their client claimed: the inline view reads the bytes."""
    message = AttachmentMessageFactory(
        sender=bob,
        recipient=alice,
        attachment_name="cat.png",
        attachment_content_type="image/png",
        attachment_data=b"<html><script>alert(1)</script></html>",
        legacy_id=41,
    )
    response = alice_web.get(f"/inbox/messages/{message.pk}/image/")
    assert response.status_code == 404
    assert b"<script>" not in response.content


def test_the_image_view_has_the_download_s_access_rule(alice, bob, carol, alice_web):
    message = send(bob, alice, "photo.png", "image/png", png())
    url = f"/inbox/messages/{message.pk}/image/"
    # The sender and the recipient see it; a third user gets the 404 of a missing message.
    bob_web = Client()
    bob_web.force_login(bob)
    assert bob_web.get(url).status_code == 200
    carol_web = Client()
    carol_web.force_login(carol)
    assert carol_web.get(url).status_code == 404
    assert carol_web.get("/inbox/messages/987654/image/").status_code == 404
    # Anonymous: the login page.
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/?next=")
    # Deleted for oneself: gone for that person only.
    services.delete_for_user(user=alice, message_id=message.pk)
    assert alice_web.get(url).status_code == 404
    assert bob_web.get(url).status_code == 200
    # Hidden by a moderator: gone for everyone.
    Message.objects.filter(pk=message.pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    assert bob_web.get(url).status_code == 404
    # A message without an attachment, and a POST.
    plain = MessageFactory(sender=bob, recipient=alice)
    assert bob_web.get(f"/inbox/messages/{plain.pk}/image/").status_code == 404
    assert bob_web.post(url).status_code == 405


def test_the_page_allows_its_images_under_the_csp(alice_web, alice, bob):
    send(bob, alice, "photo.png", "image/png", png())
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert "'self'" in policy["img-src"].split()


def test_an_upload_through_the_page_shows_its_preview(alice_web, alice, bob):
    upload = SimpleUploadedFile("shot.png", png(), content_type="image/png")
    response = alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "look", "attachment": upload})
    assert response.status_code == 302
    message = Message.objects.get(sender=alice)
    assert f'<img src="/inbox/messages/{message.pk}/image/"' in page_of(alice_web, bob)


def test_the_page_s_query_count_does_not_grow_with_avatars_links_and_previews(
    alice_web, alice, bob, django_assert_max_num_queries
):
    for i in range(10):
        send(bob, alice, f"p{i}.png", "image/png", png(), body=f"see https://example.com/{i}")
        MessageFactory(sender=alice, recipient=bob, body=f"ok {i}")
    # As `test_pages.test_thread_queries_do_not_grow_with_messages`: what a message shows is of the page's read.
    with django_assert_max_num_queries(7):
        response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert response.content.decode().count("<img src=") == 10


# --- Menus without JavaScript -------------------------------------------------------------------------------


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def form_in(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action` in `html`."""
    found = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', html, re.DOTALL)
    assert found, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', found.group(1)))


def test_each_message_has_a_menu_of_its_actions(alice_web, alice, bob):
    theirs = MessageFactory(sender=bob, recipient=alice, body="theirs")
    mine = MessageFactory(sender=alice, recipient=bob, body="mine", created_at=timezone.now() + timedelta(seconds=1))
    content = page_of(alice_web, bob)
    for message in (theirs, mine):
        li = message_li(content, message)
        menu = re.search(r'<details class="menu message-menu">.*?</details>', li, re.DOTALL)
        assert menu and '<summary aria-label="More actions">' in menu.group()
        assert f'href="?reply_to={message.pk}#reply"' in menu.group()
        assert f'action="/inbox/messages/{message.pk}/delete/"' in menu.group()
        assert ("/report/" in menu.group()) is (message == theirs)  # one reports only what others wrote
    # The three text links are no longer repeated under every bubble.
    assert "message-actions" not in content


def test_delete_for_me_from_the_menu_posts_with_its_csrf_token(alice, bob):
    message = MessageFactory(sender=bob, recipient=alice, body="bye")
    client = csrf_client(alice)
    fields = form_in(page_of(client, bob), f"/inbox/messages/{message.pk}/delete/")
    assert set(fields) == {"csrfmiddlewaretoken"}
    assert client.post(f"/inbox/messages/{message.pk}/delete/").status_code == 403  # without the token
    response = client.post(f"/inbox/messages/{message.pk}/delete/", fields)
    assert response.status_code == 302 and response["Location"] == f"/inbox/with/{bob.pk}/"
    message.refresh_from_db()
    assert message.recipient_deleted_at is not None and message.sender_deleted_at is None


def test_the_header_menu_mutes_and_blocks_with_its_forms(alice, bob_builder):
    bob = bob_builder
    MessageFactory(sender=bob, recipient=alice, body="hi")
    client = csrf_client(alice)
    content = page_of(client, bob)
    head = re.search(r'<div class="page-head thread-head">.*?</details>', content, re.DOTALL).group()
    assert '<summary aria-label="Conversation options">' in head
    assert f'href="/inbox/with/{bob.pk}/delete/">Delete conversation</a>' in head
    assert '<button type="submit">Mute</button>' in head and "Block Bob Builder</button>" in head
    # The header names the person; the heading still reads "Conversation with ..." to assistive technology.
    assert '<h1><span class="visually-hidden">Conversation with </span>Bob Builder</h1>' in head

    mute = form_in(content, f"/inbox/with/{bob.pk}/mute/")
    assert mute["action"] == "mute"
    assert client.post(f"/inbox/with/{bob.pk}/mute/", mute).status_code == 302
    assert ConversationMute.objects.filter(user=alice, partner=bob).exists()
    content = page_of(client, bob)
    assert form_in(content, f"/inbox/with/{bob.pk}/mute/")["action"] == "unmute"

    block = form_in(content, f"/inbox/block/{bob.pk}/")
    assert block["action"] == "block"
    assert client.post(f"/inbox/block/{bob.pk}/", block).status_code == 302
    assert UserBlock.objects.filter(blocker=alice, blocked=bob).exists()
    assert "Unblock Bob Builder</button>" in page_of(client, bob)


def test_notes_to_oneself_have_no_mute_or_block(alice_web, alice):
    MessageFactory(sender=alice, recipient=alice, body="note", legacy_id=7)
    content = page_of(alice_web, alice)
    assert "<h1>Notes to yourself</h1>" in content
    assert "/mute/" not in content and "/block/" not in content
    assert f'href="/inbox/with/{alice.pk}/delete/">Delete conversation</a>' in content
