"""The composer of the thread and compose pages through the test client: an attachment over the limit is a form
error that keeps the draft (with and without DEBUG, a bit over the limit and far over every request limit), the
limit is shown in MB, "Replying to <name>" with a "Cancel reply" link, and a refused form keeps the text.

Posts go through the CSRF check as a browser's do (`enforce_csrf_checks`): that check reads the form before
any view runs, which is where an oversized upload used to turn into Django's 400 page.
"""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from config.settings import request_body_limit
from messaging import services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from messaging.uploads import AttachmentLimitUploadHandler
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DRAFT = "Here is the plan,\nsee the file."


@pytest.fixture
def browser_like(alice):
    """Alice's client, checked for CSRF like a browser's."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.fixture
def small_limit(settings):
    """A 1,000-byte attachment limit, with the request-size limit derived from it as at settings import."""
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = request_body_limit(1000)
    return 1000


def post_form(client, path, data):
    """GET the page, then POST its form with the page's CSRF token, as a browser does."""
    page = client.get(path)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(path, {"csrfmiddlewaretoken": token, **data})


def textarea_text(response) -> str:
    match = re.search(r'<textarea name="body"[^>]*>\n?(.*?)</textarea>', response.content.decode(), re.S)
    assert match, "no body textarea on the page"
    return unescape(match.group(1))


def field_errors(response, field: str) -> list[str]:
    content = response.content.decode()
    match = re.search(rf'<div class="field-errors" data-errors-for="{field}"[^>]*>(.*?)</div>', content, re.S)
    assert match, f"no error box for {field}"
    return [unescape(text) for text in re.findall(r"<li>(.*?)</li>", match.group(1))]


def assert_the_form_again_with_the_draft(response, template: str):
    assert response.status_code == 400
    assert template in [t.name for t in response.templates]
    assert b"Traceback" not in response.content and b"technical_500" not in response.content
    assert textarea_text(response) == DRAFT
    assert field_errors(response, "attachment") == ["The file is larger than the limit of 1000 bytes."]


# --- An attachment over the limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["production", "DEBUG"])
@pytest.mark.parametrize("size", [1001, 3 * 1024 * 1024], ids=["a-bit-over", "far-over-every-request-limit"])
def test_an_attachment_over_the_limit_is_an_error_at_the_file_and_the_thread_keeps_the_draft(
    browser_like, alice, bob, small_limit, settings, debug, size
):
    """The thread comes back (400) with the typed message in the box and the error under the file: never
    Django's debug page, never a page with no way back to the draft. 3 MiB is past the request size at which
    the API refuses before reading (attachment limit + DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    settings.DEBUG = debug
    assert size > small_limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE or size == small_limit + 1
    original = MessageFactory(sender=bob, recipient=alice, body="the question")
    upload = SimpleUploadedFile("plan.pdf", b"x" * size, content_type="application/pdf")

    response = post_form(
        browser_like,
        f"/inbox/with/{bob.pk}/?reply_to={original.pk}",
        {"body": DRAFT, "attachment": upload, "reply_to": original.pk},
    )

    assert_the_form_again_with_the_draft(response, "messaging/thread.html")
    assert f'name="reply_to" value="{original.pk}"' in response.content.decode()  # still a reply
    assert "Choose plan.pdf again" not in response.content.decode()  # the error says what to do
    assert Message.objects.count() == 1


@pytest.mark.parametrize("debug", [False, True], ids=["production", "DEBUG"])
@pytest.mark.parametrize("size", [1001, 3 * 1024 * 1024], ids=["a-bit-over", "far-over-every-request-limit"])
def test_an_attachment_over_the_limit_on_the_compose_page_keeps_the_draft_and_the_recipient(
    browser_like, bob, small_limit, settings, debug, size
):
    settings.DEBUG = debug
    upload = SimpleUploadedFile("plan.pdf", b"x" * size, content_type="application/pdf")

    response = post_form(browser_like, "/inbox/compose/", {"recipient": bob.pk, "body": DRAFT, "attachment": upload})

    assert_the_form_again_with_the_draft(response, "messaging/compose.html")
    assert re.search(rf'<option value="{bob.pk}"[^>]* selected>', response.content.decode())
    assert not Message.objects.exists()


def test_an_attachment_at_the_limit_is_sent_whole(browser_like, bob, small_limit):
    upload = SimpleUploadedFile("plan.pdf", b"x" * small_limit, content_type="application/pdf")
    response = post_form(browser_like, f"/inbox/with/{bob.pk}/", {"body": DRAFT, "attachment": upload})
    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.body, bytes(message.attachment_data)) == (DRAFT.strip(), b"x" * small_limit)


def test_an_over_limit_file_keeps_no_byte_past_the_limit_and_cannot_be_read(small_limit, rf):
    """The handler passes on bytes only up to the limit; past it the file is a RefusedUpload whose content
    cannot be read, so no surface can send it empty."""
    from messaging.services import AttachmentTooLarge
    from messaging.uploads import RefusedUpload

    handler = AttachmentLimitUploadHandler(rf.post("/inbox/compose/"))
    handler.new_file("attachment", "big.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"a" * 600, 0) == b"a" * 600
    assert handler.receive_data_chunk(b"a" * 600, 600) is None
    assert handler.receive_data_chunk(b"a" * 600, 1200) is None
    refused = handler.file_complete(1800)
    assert isinstance(refused, RefusedUpload)
    assert (refused.name, refused.size) == ("big.bin", 1800)
    with pytest.raises(AttachmentTooLarge):
        refused.read()
    # The next file of the same request starts afresh.
    handler.new_file("attachment", "small.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"a" * 10, 0) == b"a" * 10
    assert handler.file_complete(10) is None


def test_the_api_still_refuses_an_overlong_request_before_reading_it(small_limit, rf):
    from django.core.exceptions import RequestDataTooBig

    handler = AttachmentLimitUploadHandler(rf.post("/api/messages/send"))
    with pytest.raises(RequestDataTooBig):
        handler.handle_raw_input(None, {}, 10**12, b"boundary")
    page_handler = AttachmentLimitUploadHandler(rf.post("/inbox/compose/"))
    assert page_handler.handle_raw_input(None, {}, 10**12, b"boundary") is None


# --- The limit shown, the texts the script uses --------------------------------------------------------------


def test_the_limit_is_shown_in_mb_beside_the_picker_from_the_setting(alice_web_plain, bob, settings):
    for limit, shown in ((10 * 1024 * 1024, "10 MB"), (2_621_440, "2.5 MB"), (512_000, "500 KB")):
        settings.MESSAGING_MAX_ATTACHMENT_BYTES = limit
        for path in (f"/inbox/with/{bob.pk}/", "/inbox/compose/"):
            content = alice_web_plain.get(path).content.decode()
            assert f'id="id_attachment_helptext">Up to {shown}<' in content, path
            assert 'aria-describedby="id_attachment_helptext"' in content
            assert f'data-max-bytes="{limit}"' in content
            assert f'data-too-large="The file is larger than the limit of {shown}."' in content
            assert 'data-empty="A message needs a body or an attachment."' in content
            assert "/static/messaging/composer.js" in content


def test_megabytes_reads_as_people_read_sizes():
    from messaging.web.forms import megabytes

    assert [megabytes(n) for n in (10 * 1024 * 1024, 1_572_864, 1024, 1000, 0)] == [
        "10 MB",
        "1.5 MB",
        "1 KB",
        "1000 bytes",
        "0 bytes",
    ]


# --- Replying ------------------------------------------------------------------------------------------------


def test_replying_names_whose_message_is_quoted_with_a_cancel_link_to_the_plain_thread(alice_web_plain, alice, bob):
    theirs = MessageFactory(sender=bob, recipient=alice, body="Shall we meet on Friday?")
    mine = MessageFactory(sender=alice, recipient=bob, body="I said Thursday")
    bob.display_name = "Bob Builder"
    bob.save()

    content = alice_web_plain.get(f"/inbox/with/{bob.pk}/?reply_to={theirs.pk}").content.decode()
    assert re.search(r"Replying to <strong>Bob Builder</strong>", content)
    assert "Shall we meet on Friday?</blockquote>" in content
    assert f'<a href="/inbox/with/{bob.pk}/#reply" data-cancel-reply>Cancel reply</a>' in content

    own = alice_web_plain.get(f"/inbox/with/{bob.pk}/?reply_to={mine.pk}").content.decode()
    assert "Replying to <strong>your own message</strong>" in own

    plain = alice_web_plain.get(f"/inbox/with/{bob.pk}/").content.decode()
    assert "Replying to" not in plain and "Cancel reply" not in plain


# --- The draft survives every refusal ------------------------------------------------------------------------


def test_a_refusal_not_about_the_file_keeps_the_text_and_asks_for_the_file_again(browser_like, alice, bob):
    """Bob blocked Alice: the send is refused; her text is still in the box and the page says the file must
    be chosen again (a browser cannot refill a file input)."""
    from messaging.models import UserBlock

    UserBlock.objects.create(blocker=bob, blocked=alice)
    upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
    response = post_form(browser_like, f"/inbox/with/{bob.pk}/", {"body": DRAFT, "attachment": upload})
    assert response.status_code == 400
    assert textarea_text(response) == DRAFT
    assert "Choose notes.txt again" in response.content.decode()
    assert not Message.objects.exists()


def test_an_empty_message_is_an_error_at_the_body(browser_like, bob):
    response = post_form(browser_like, f"/inbox/with/{bob.pk}/", {"body": "  "})
    assert response.status_code == 400
    assert field_errors(response, "body") == ["A message needs a body or an attachment."]
    assert "again" not in response.content.decode().split('data-errors-for="attachment"')[0].split("composer-file")[1]


def test_the_compose_page_keeps_the_text_when_no_recipient_is_chosen(browser_like, bob):
    upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
    response = post_form(browser_like, "/inbox/compose/", {"recipient": "", "body": DRAFT, "attachment": upload})
    assert response.status_code == 400
    assert textarea_text(response) == DRAFT
    assert "Choose notes.txt again" in response.content.decode()


@pytest.fixture
def alice_web_plain(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_replying_costs_one_query_more_than_the_plain_thread(alice_web_plain, alice, bob):
    """The quoted message and its author come in one read (`selectors.message_of_thread` joins the sender)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    question = MessageFactory(sender=bob, recipient=alice, body="Shall we meet?")
    alice_web_plain.get(f"/inbox/with/{bob.pk}/")  # the first open marks the thread read
    with CaptureQueriesContext(connection) as plain:
        alice_web_plain.get(f"/inbox/with/{bob.pk}/")
    with CaptureQueriesContext(connection) as replying:
        page = alice_web_plain.get(f"/inbox/with/{bob.pk}/?reply_to={question.pk}")
    assert b"Replying to <strong>bob</strong>" in page.content
    assert len(replying) == len(plain) + 1


@pytest.mark.django_db
def test_the_thread_quotes_only_a_message_of_its_own_conversation(client):
    """`?reply_to=` naming a message the reader sees in another conversation is not quoted (the send would
    refuse it), nor is an id too large for the database."""
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory(display_name="Carol Quoted")
    elsewhere = services.send_message(sender=carol, recipient_id=alice.pk, body="from another conversation")
    here = services.send_message(sender=bob, recipient_id=alice.pk, body="from this conversation")
    client.force_login(alice)
    url = reverse("messaging-web:thread", args=[bob.pk])
    assert "Replying to" not in client.get(url, {"reply_to": elsewhere.pk}).content.decode()
    assert client.get(url, {"reply_to": 2**70}).status_code == 200
    assert "Replying to" in client.get(url, {"reply_to": here.pk}).content.decode()
