"""The composer in a real Chromium against a live server, at 1280x800 and 390x844: Enter sends and Shift+Enter
breaks a line, an empty message and an over-limit file are refused at their field before anything is sent, a
dropped or pasted file is attached and sent, "Cancel reply" works with and without JavaScript, and without
JavaScript an over-limit file (a real multipart upload) brings the form back with the draft.

Screenshots go to /tmp/composer-*.png.
"""

import pytest
from django.test import Client

from config.settings import request_body_limit
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, chromium
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

SIZES = [pytest.param((1280, 800), id="1280x800"), pytest.param((390, 844), id="390x844")]
SENT = "**/inbox/with/*/#message-*"


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps a loop in this thread. Set for this module only: a later test's subprocess
    # (`check --deploy`) must not inherit it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with chromium() as pages:
            yield pages.browser


@pytest.fixture
def people(transactional_db):
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    question = MessageFactory(sender=bob, recipient=alice, body="Can you send me the plan for Friday?")
    return alice, bob, question


@pytest.fixture
def open_as(browser, live_server):
    """`open_as(user, path, size, javascript=True)`: a logged-in page at that size, and the list of problems the
    browser reported (console errors, failed scripts, 5xx), which must stay empty."""
    contexts = []
    problem_lists = []

    def open_page(user, path, size, *, javascript=True, touch=False):
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            viewport={"width": size[0], "height": size[1]},
            java_script_enabled=javascript,
            has_touch=touch,
            is_mobile=touch,
        )
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        problem_lists.append(problems)
        page.goto(f"{live_server.url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert [p for problems in problem_lists for p in problems if "400 (Bad Request)" not in p] == []


def posts_to(page) -> list[str]:
    """Start counting the form posts the page makes (a list that fills as it posts)."""
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    return posts


def shot(page, name, size):
    page.screenshot(path=f"/tmp/composer-{name}-{size[0]}x{size[1]}.png")


# --- Enter and Shift+Enter --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_enter_sends_shift_enter_breaks_a_line_and_an_empty_message_is_not_sent(open_as, people, size):
    from playwright.sync_api import expect

    alice, bob, _ = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/", size)
    box = page.get_by_label("Message")
    expect(box).to_have_attribute("placeholder", "Enter sends, Shift+Enter starts a new line")
    posts = posts_to(page)

    # Enter in an empty box: the server's error at the field, nothing sent.
    box.click()
    box.press("Enter")
    expect(page.locator('[data-errors-for="body"]')).to_have_text("A message needs a body or an attachment.")
    expect(box).to_have_attribute("aria-invalid", "true")
    shot(page, "empty", size)
    assert posts == []

    # Enter while an input method composes a character (isComposing) does not send either.
    box.type("first line")
    page.evaluate(
        """() => document.querySelector('#id_body').dispatchEvent(new KeyboardEvent('keydown',
             {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))"""
    )
    assert posts == []
    expect(page.locator('[data-errors-for="body"]')).to_have_text("")

    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    shot(page, "shift-enter", size)
    box.press("Enter")
    page.wait_for_url(SENT)
    sent = Message.objects.get(sender=alice)
    assert sent.body == "first line\nsecond line"
    assert "first line\nsecond line" in page.locator(f'[data-message-id="{sent.pk}"]').inner_text()
    assert len(posts) == 1


def test_on_a_touch_screen_enter_breaks_a_line_and_send_sends(open_as, people):
    """A phone's keyboard has no Shift+Enter: there Enter stays a new line, as in the messengers' apps."""
    alice, bob, _ = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/", (390, 844), touch=True)
    assert page.evaluate("matchMedia('(pointer: coarse)').matches") is True
    box = page.get_by_label("Message")
    assert box.get_attribute("placeholder") is None
    box.tap()
    box.type("first line")
    box.press("Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert not Message.objects.filter(sender=alice).exists()
    page.get_by_role("button", name="Send").tap()
    page.wait_for_url(SENT)
    assert Message.objects.get(sender=alice).body == "first line\nsecond line"


# --- The size limit ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_an_over_limit_file_is_refused_at_the_field_before_it_is_sent_and_the_draft_stays(
    open_as, people, settings, size
):
    from playwright.sync_api import expect

    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 1024 * 1024
    alice, bob, _ = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/", size)
    expect(page.locator("#id_attachment_helptext")).to_contain_text("Up to 1 MB")
    posts = posts_to(page)

    page.get_by_label("Message").fill("The plan is attached.")
    page.get_by_label("Attachment (optional)").set_input_files(
        files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"x" * 1_572_860}]
    )
    errors = page.locator('[data-errors-for="attachment"]')
    expect(errors).to_have_text("The file is larger than the limit of 1 MB.")
    expect(page.locator("[data-picked]")).to_contain_text("plan.pdf (1.5 MB)")
    picker = page.get_by_label("Attachment (optional)")
    expect(picker).to_have_attribute("aria-describedby", "id_attachment_helptext id_attachment_error")
    expect(picker).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Send").click()
    page.get_by_label("Message").press("Enter")
    expect(errors).to_have_text("The file is larger than the limit of 1 MB.")
    shot(page, "too-large", size)
    assert posts == []
    assert page.get_by_label("Message").input_value() == "The plan is attached."
    assert not Message.objects.filter(sender=alice).exists()

    # A file that fits clears the error and is sent with the draft.
    page.get_by_label("Attachment (optional)").set_input_files(
        files=[{"name": "plan.txt", "mimeType": "text/plain", "buffer": b"Friday: 10:00"}]
    )
    expect(errors).to_have_text("")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(SENT)
    sent = Message.objects.get(sender=alice)
    assert (sent.body, sent.attachment_name, bytes(sent.attachment_data or b"")) == (
        "The plan is attached.",
        "plan.txt",
        b"Friday: 10:00",
    )


@pytest.mark.parametrize(
    ("size", "file_bytes", "debug"),
    [
        pytest.param((1280, 800), 1001, True, id="1280x800-a-bit-over-DEBUG"),
        pytest.param((390, 844), 3 * 1024 * 1024, False, id="390x844-far-over-every-request-limit"),
    ],
)
def test_without_javascript_an_over_limit_upload_brings_back_the_form_with_the_draft(
    open_as, people, settings, size, file_bytes, debug
):
    """A real multipart upload: the thread comes back with the error at the file, the text and the reply
    kept; never Django's debug page nor the bare 400 page."""
    from playwright.sync_api import expect

    settings.DEBUG = debug
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = request_body_limit(1000)
    alice, bob, question = people
    for n in range(12):  # a thread taller than the screen: the answer must scroll to the composer itself
        MessageFactory(sender=bob, recipient=alice, body=f"Older message {n}")
    page = open_as(alice, f"/inbox/with/{bob.pk}/?reply_to={question.pk}", size, javascript=False)
    page.get_by_label("Message").fill("Here it is,\nsee the file.")
    page.get_by_label("Attachment (optional)").set_input_files(
        files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"x" * file_bytes}]
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send").click()
    assert answer.value.status == 400
    expect(page.locator("h1")).to_have_text("Conversation with Bob Builder")
    expect(page.locator('[data-errors-for="attachment"]')).to_be_in_viewport()
    expect(page.locator('[data-errors-for="attachment"]')).to_have_text(
        "The file is larger than the limit of 1000 bytes."
    )
    assert page.get_by_label("Message").input_value() == "Here it is,\nsee the file."
    expect(page.locator("[data-reply-context]")).to_contain_text("Replying to Bob Builder")
    shot(page, "too-large-no-js", size)
    assert not Message.objects.filter(sender=alice).exists()


# --- Drop and paste ---------------------------------------------------------------------------------------------

DROP = """([name, type, text, target]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, {type}));
    const where = document.querySelector(target);
    for (const kind of ['dragenter', 'dragover', 'drop']) {
        where.dispatchEvent(new DragEvent(kind, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }
}"""
PASTE = """([name, type, bytes]) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], name, {type}));
    document.querySelector('#id_body').dispatchEvent(
        new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true, cancelable: true}));
}"""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


@pytest.mark.parametrize("size", SIZES)
def test_a_dropped_file_is_attached_shown_and_sent(open_as, people, size):
    from playwright.sync_api import expect

    alice, bob, _ = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/", size)
    page.get_by_label("Message").fill("Dropped in")
    # Dropped on the thread, outside the form: the page does not open the file, the composer takes it.
    page.evaluate(DROP, ["notes.txt", "text/plain", "budget: 42 zeppelins", "main"])
    expect(page.locator("[data-picked]")).to_contain_text("notes.txt (20 bytes)")
    assert page.evaluate("document.querySelector('#id_attachment').files[0].name") == "notes.txt"
    assert page.evaluate("document.querySelector('[data-composer]').classList.contains('is-dropping')") is False
    shot(page, "dropped", size)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(SENT)
    sent = Message.objects.get(sender=alice)
    assert (sent.body, sent.attachment_name, bytes(sent.attachment_data or b"")) == (
        "Dropped in",
        "notes.txt",
        b"budget: 42 zeppelins",
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_pasted_image_is_attached_and_a_dropped_file_over_the_limit_is_refused(open_as, people, settings, size):
    from playwright.sync_api import expect

    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 100
    alice, bob, _ = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/", size)
    posts = posts_to(page)
    page.evaluate(DROP, ["big.txt", "text/plain", "x" * 101, "[data-composer]"])
    expect(page.locator('[data-errors-for="attachment"]')).to_have_text(
        "The file is larger than the limit of 100 bytes."
    )
    page.get_by_role("button", name="Send").click()
    assert posts == []

    page.evaluate(PASTE, ["image.png", "image/png", list(PNG)])
    expect(page.locator("[data-picked]")).to_contain_text("image.png (32 bytes)")
    expect(page.locator('[data-errors-for="attachment"]')).to_have_text("")
    page.get_by_label("Message").press("Enter")  # an image alone is a message
    page.wait_for_url(SENT)
    sent = Message.objects.get(sender=alice)
    assert (sent.body, sent.attachment_name, bytes(sent.attachment_data or b"")) == ("", "image.png", PNG)


# --- Cancel reply -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_cancel_reply_names_the_author_and_forgets_the_quote_without_reloading(open_as, people, size):
    from playwright.sync_api import expect

    alice, bob, question = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/?reply_to={question.pk}", size)
    context = page.locator("[data-reply-context]")
    expect(context).to_contain_text("Replying to Bob Builder")
    expect(context).to_contain_text("Can you send me the plan for Friday?")
    shot(page, "replying", size)
    page.evaluate("window.__same_page = true")

    page.get_by_role("link", name="Cancel reply").click()
    expect(context).to_have_count(0)
    assert page.evaluate("window.__same_page") is True
    assert "reply_to" not in page.url
    assert page.locator('input[name="reply_to"]').input_value() == ""
    page.get_by_label("Message").fill("Not a reply after all")
    page.get_by_label("Message").press("Enter")
    page.wait_for_url(SENT)
    assert Message.objects.get(sender=alice).reply_to_id is None

    # Replying still works: the quoted message is the one answered.
    page.goto(page.url.split("#")[0] + f"?reply_to={question.pk}")
    page.get_by_label("Message").fill("Yes, on Friday")
    page.get_by_label("Message").press("Enter")
    page.wait_for_url(SENT)
    assert Message.objects.get(body="Yes, on Friday").reply_to_id == question.pk


@pytest.mark.parametrize("size", SIZES)
def test_cancel_reply_without_javascript_is_a_link_to_the_plain_thread(open_as, people, size):
    from playwright.sync_api import expect

    alice, bob, question = people
    page = open_as(alice, f"/inbox/with/{bob.pk}/?reply_to={question.pk}", size, javascript=False)
    expect(page.locator("[data-reply-context]")).to_contain_text("Replying to Bob Builder")
    page.get_by_role("link", name="Cancel reply").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/#reply")
    expect(page.locator("[data-reply-context]")).to_have_count(0)
    page.get_by_label("Message").fill("Plain message")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(SENT)
    assert Message.objects.get(sender=alice).reply_to_id is None


# --- The compose page -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_compose_page_has_the_same_composer(open_as, people, settings, size):
    from playwright.sync_api import expect

    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 100
    alice, bob, _ = people
    page = open_as(alice, f"/inbox/compose/?to={bob.pk}", size)
    expect(page.locator("#id_attachment_helptext")).to_contain_text("Up to 100 bytes")
    posts = posts_to(page)
    page.get_by_label("Message").fill("Hello from compose")
    page.evaluate(DROP, ["big.txt", "text/plain", "x" * 101, "main"])
    expect(page.locator('[data-errors-for="attachment"]')).to_have_text(
        "The file is larger than the limit of 100 bytes."
    )
    page.get_by_label("Message").press("Enter")
    shot(page, "compose-too-large", size)
    assert posts == []
    page.locator("[data-picked]").get_by_role("button", name="Remove").click()
    expect(page.locator('[data-errors-for="attachment"]')).to_have_text("")
    page.get_by_label("Message").press("Enter")
    page.wait_for_url(SENT)
    assert Message.objects.get(sender=alice).body == "Hello from compose"
