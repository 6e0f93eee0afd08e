"""Hostile and broken input to the messaging API gets a clear 4xx, never a 500, and nothing unsafe is stored.

Sizes, encodings, NUL bytes, filenames, lying content types, nesting, pagination and cursors, malformed JSON
and wrong types, through the real HTTP stack (DRF's APIClient).
"""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from config.settings import request_body_limit
from messaging.models import Message
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

SEND = "/api/messages/send"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def small_attachments(settings):
    """A 1,000-byte attachment limit, with the request-size limit derived from it as at settings import."""
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = request_body_limit(1000)
    return 1000


def send_json(client, payload):
    return client.post(SEND, payload, format="json")


def send_raw(client, raw: bytes, content_type="application/json"):
    return client.generic("POST", SEND, raw, content_type=content_type)


def json_attachment(data: bytes, name="file.bin", content_type="application/octet-stream"):
    return {"name": name, "content_type": content_type, "data": base64.b64encode(data).decode()}


def send_file(client, recipient, data: bytes, name="file.bin", content_type="application/octet-stream", body=""):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(SEND, {"recipient_id": recipient.pk, "body": body, "attachment": upload}, format="multipart")


# --- sizes -----------------------------------------------------------------------------------------------


def test_multipart_attachment_just_under_the_limit_is_accepted_and_one_byte_more_is_413(
    alice_client, bob, small_attachments
):
    """The limit is inclusive: `MESSAGING_MAX_ATTACHMENT_BYTES` bytes are accepted, one more is refused."""
    accepted = send_file(alice_client, bob, b"a" * small_attachments)
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["attachment"]["size"] == small_attachments

    refused = send_file(alice_client, bob, b"a" * (small_attachments + 1))
    assert refused.status_code == 413
    assert "detail" in refused.json()
    assert Message.objects.count() == 1


def test_base64_json_attachment_just_under_the_limit_is_accepted_and_one_byte_more_is_413(
    alice_client, bob, small_attachments
):
    """The same limit applies to a base64 attachment in JSON, counted in decoded bytes."""
    accepted = send_json(
        alice_client, {"recipient_id": bob.pk, "attachment": json_attachment(b"a" * small_attachments)}
    )
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["attachment"]["size"] == small_attachments

    refused = send_json(
        alice_client, {"recipient_id": bob.pk, "attachment": json_attachment(b"a" * (small_attachments + 1))}
    )
    assert refused.status_code == 413
    assert Message.objects.count() == 1


def test_request_size_limit_fits_the_largest_attachment_in_base64_json_with_the_longest_body(alice_client, bob):
    """At the real default (10 MiB), the largest attachment base64-encoded next to the longest body fits."""
    from django.conf import settings

    limit = settings.MESSAGING_MAX_ATTACHMENT_BYTES
    # The worst-case body for JSON: 10,000 characters that each need a 12-byte escape (astral plane).
    body = "\U0001f600" * settings.MESSAGING_MAX_BODY_CHARS
    payload = json.dumps({"recipient_id": bob.pk, "body": body, "attachment": json_attachment(b"\x00" * limit)})
    assert len(payload) > limit * 4 // 3  # really near the request-size limit

    response = send_raw(alice_client, payload.encode())

    assert response.status_code == 201, response.content[:300]
    assert Message.objects.get().attachment_size == limit


def test_a_json_body_over_the_request_size_limit_is_413_not_400(alice_client, bob, small_attachments):
    """A body bigger than any valid message is refused by size before it is parsed."""
    from django.conf import settings

    payload = json.dumps({"recipient_id": bob.pk, "body": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = send_raw(alice_client, payload.encode())
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_a_multipart_text_field_over_the_request_size_limit_is_413(alice_client, bob, small_attachments):
    from django.conf import settings

    response = alice_client.post(
        SEND,
        {"recipient_id": bob.pk, "body": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
        format="multipart",
    )
    assert response.status_code == 413
    assert Message.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=50)
def test_too_many_form_fields_is_a_4xx(alice_client, bob):
    fields = {f"field{n}": "x" for n in range(60)} | {"recipient_id": bob.pk, "body": "hi"}
    response = alice_client.post(SEND, fields, format="multipart")
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_a_body_over_the_character_limit_is_400(alice_client, bob):
    response = send_json(alice_client, {"recipient_id": bob.pk, "body": "x" * 10_001})
    assert response.status_code == 400
    assert "body" in response.json()


# --- encodings and NUL bytes -----------------------------------------------------------------------------


def test_a_nul_character_in_a_json_body_is_400(alice_client, bob):
    response = send_raw(alice_client, b'{"recipient_id": %d, "body": "before\\u0000after"}' % bob.pk)
    assert response.status_code == 400
    assert "body" in response.json()
    assert Message.objects.count() == 0


def test_a_nul_byte_in_a_multipart_body_is_400(alice_client, bob):
    response = alice_client.post(SEND, {"recipient_id": bob.pk, "body": "before\x00after"}, format="multipart")
    assert response.status_code == 400
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/messages/search", {"query": "a\u0000b"}),
        ("/api/auth/token/", {"username": "alice\u0000", "password": "x"}),
        (
            "/api/auth/register/",
            {"username": "zed", "email": "zed@example.com", "password": "a-long-pass-123", "display_name": "z\u0000"},
        ),
    ],
)
def test_nul_characters_in_other_text_fields_are_400(alice_client, path, payload):
    """PostgreSQL cannot store or compare NUL: every text input refuses it before a query."""
    response = alice_client.post(path, payload, format="json")
    assert response.status_code == 400


def test_a_nul_character_in_a_report_reason_is_400(bob_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    response = bob_client.post(f"/api/messages/{message.pk}/report", {"reason": "spam\u0000"}, format="json")
    assert response.status_code == 400
    assert not message.reports.exists()


def test_a_nul_byte_in_the_participants_search_is_400(alice_client, bob):
    response = alice_client.get("/api/messages/participants", {"search": "b\x00"})
    assert response.status_code == 400
    assert "search" in response.json()


def test_a_raw_body_that_is_not_utf8_is_400(alice_client, bob):
    response = send_raw(alice_client, b'{"recipient_id": %d, "body": "caf\xe9 \xff\xfe"}' % bob.pk)
    assert response.status_code == 400
    assert "detail" in response.json()
    assert Message.objects.count() == 0


def test_a_json_body_in_a_declared_charset_is_decoded_with_it(alice_client, bob):
    """Not hostile, but the other side of the same coin: a declared charset is honoured."""
    raw = json.dumps({"recipient_id": bob.pk, "body": "caf\u00e9"}, ensure_ascii=False).encode("latin-1")
    response = send_raw(alice_client, raw, content_type="application/json; charset=latin-1")
    assert response.status_code == 201
    assert Message.objects.get().body == "caf\u00e9"


# --- filenames -------------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\evil.exe", "evil.exe"),
    ("my \"quoted\" 'file'.txt", "my quoted file.txt"),
    ("bad\r\nSet-Cookie: session=stolen.txt", "badSet-Cookie: session=stolen.txt"),
    ("tab\tand\x00nul\x7f.txt", "tabandnul.txt"),
    ("../", "attachment"),
    ("\u202eexe.txt", "exe.txt"),  # right-to-left override, a format character
]


@pytest.mark.parametrize(("hostile", "stored"), HOSTILE_NAMES)
def test_hostile_filenames_in_base64_json_are_sanitised_and_the_download_header_stays_one_safe_line(
    alice_client, bob_client, bob, hostile, stored
):
    response = send_json(
        alice_client,
        {"recipient_id": bob.pk, "attachment": json_attachment(b"plain text", name=hostile, content_type="text/plain")},
    )
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.attachment_name == stored
    assert response.json()["attachment"]["name"] == stored

    download = bob_client.get(f"/api/messages/{message.pk}/attachment")
    disposition = download["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "\r" not in disposition and "\n" not in disposition
    assert "/" not in disposition.split("filename*=")[0] and "\\" not in disposition
    # The quoted ASCII name holds no quote of its own, so the header parses to one parameter value.
    ascii_name = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in ascii_name


# The test client itself refuses to build a multipart file named "../".
@pytest.mark.parametrize(("hostile", "stored"), [names for names in HOSTILE_NAMES if names[0] != "../"])
def test_hostile_filenames_in_multipart_are_sanitised(alice_client, bob, hostile, stored):
    """As in JSON; a raw CR/LF also cuts the multipart header itself, so only the name's safety is asserted."""
    response = send_file(alice_client, bob, b"plain text", name=hostile, content_type="text/plain")
    assert response.status_code == 201, response.content
    name = Message.objects.get().attachment_name
    if "\r" not in hostile:
        assert name == stored
    assert name and not any(ch in name for ch in "/\\\"'\r\n\x00")


def test_a_unicode_filename_is_kept_and_sent_in_rfc5987_form(alice_client, bob_client, bob):
    send_json(alice_client, {"recipient_id": bob.pk, "attachment": json_attachment(b"x", name="r\u00e9sum\u00e9.txt")})
    message = Message.objects.get()
    assert message.attachment_name == "r\u00e9sum\u00e9.txt"
    disposition = bob_client.get(f"/api/messages/{message.pk}/attachment")["Content-Disposition"]
    assert disposition == "attachment; filename=\"rsum.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"


# --- lying content types ---------------------------------------------------------------------------------


def assert_download_is_never_rendered(response):
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize("form", ["multipart", "json"])
def test_html_sent_as_png_is_served_neither_as_html_nor_as_png(alice_client, bob_client, bob, form):
    if form == "multipart":
        response = send_file(alice_client, bob, HTML, name="cat.png", content_type="image/png")
    else:
        payload = {
            "recipient_id": bob.pk,
            "attachment": json_attachment(HTML, name="cat.png", content_type="image/png"),
        }
        response = send_json(alice_client, payload)
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.attachment_content_type == "application/octet-stream"

    download = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert download.status_code == 200
    content_type = download["Content-Type"]
    assert not content_type.startswith(("text/html", "image/png"))
    assert_download_is_never_rendered(download)
    assert download.content == HTML


def test_png_bytes_claimed_as_html_are_stored_as_png(alice_client, bob_client, bob):
    send_file(alice_client, bob, PNG, name="page.html", content_type="text/html")
    message = Message.objects.get()
    assert message.attachment_content_type == "image/png"
    assert_download_is_never_rendered(bob_client.get(f"/api/messages/{message.pk}/attachment"))


def test_html_declared_as_html_is_still_only_ever_a_download(alice_client, bob_client, bob):
    send_file(alice_client, bob, HTML, name="page.html", content_type="text/html")
    message = Message.objects.get()
    download = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert_download_is_never_rendered(download)


def test_a_malformed_content_type_is_not_stored_as_given(alice_client, bob):
    payload = {
        "recipient_id": bob.pk,
        "attachment": json_attachment(b"hello", name="a.txt", content_type="text/html\r\nX-Injected: 1"),
    }
    assert send_json(alice_client, payload).status_code == 201
    assert "\n" not in Message.objects.get().attachment_content_type


LONG_CONTENT_TYPE = "application/vnd.relay." + "x" * 100  # well-formed, 122 characters: wider than the column
TOO_LONG = "`content_type` must be a string of at most 100 characters."


def test_a_content_type_longer_than_100_characters_is_400_in_json_and_multipart(alice_client, bob):
    """One rule for both encodings of an attachment; 100 characters (the column's width) still go through."""
    multipart = send_file(alice_client, bob, b"plain text", content_type=LONG_CONTENT_TYPE)
    as_json = send_json(
        alice_client,
        {"recipient_id": bob.pk, "attachment": json_attachment(b"plain text", content_type=LONG_CONTENT_TYPE)},
    )
    for response in (multipart, as_json):
        assert response.status_code == 400
        assert response.json() == {"attachment": [TOO_LONG]}
    assert not Message.objects.exists()

    widest = LONG_CONTENT_TYPE[:100]
    assert send_file(alice_client, bob, b"plain text", content_type=widest).json()["attachment"]["content_type"] == (
        widest
    )


@pytest.mark.parametrize("page", ["thread", "compose"])
def test_a_content_type_longer_than_100_characters_is_a_form_error(client, alice, bob, page):
    client.force_login(alice)
    upload = SimpleUploadedFile("file.bin", b"plain text", content_type=LONG_CONTENT_TYPE)
    if page == "thread":
        response = client.post(f"/inbox/with/{bob.pk}/", {"body": "hi", "attachment": upload})
    else:
        response = client.post("/inbox/compose/", {"recipient": bob.pk, "body": "hi", "attachment": upload})
    assert response.status_code == 400
    assert TOO_LONG in response.content.decode()
    assert not Message.objects.exists()


# --- nesting, pagination, cursors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"query": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ],
    ids=["arrays", "objects"],
)
def test_deeply_nested_json_is_400(alice_client, raw):
    for path in (SEND, "/api/messages/search"):
        response = alice_client.generic("POST", path, raw, content_type="application/json")
        assert response.status_code == 400, path
        assert "nested" in response.json()["detail"]


@pytest.mark.parametrize("page_size", ["0", "-1", "101", "10000000000000000000000", "abc", "1e3", "\x00"])
@pytest.mark.parametrize("path", ["/api/messages/conversations", "/api/messages/participants", "/with/"])
def test_page_sizes_outside_1_to_100_are_400(alice_client, bob, page_size, path):
    if path == "/with/":
        path = f"/api/messages/with/{bob.pk}"
    response = alice_client.get(path, {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize("page", ["0", "-5", "99999999999999999999999999", "abc"])
def test_pages_that_do_not_exist_are_404(alice_client, page):
    response = alice_client.get("/api/messages/conversations", {"page": page})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        _cursor("p=not-a-time"),
        _cursor("p=2026-13-45 25:61:00"),
        _cursor("p=\x00"),
        _cursor("r=1&p=" + "9" * 5000),
        "%00",
        _cursor("o=abc"),
    ],
)
def test_forged_cursors_are_a_clear_4xx(alice_client, alice, bob, cursor):
    MessageFactory(sender=alice, recipient=bob)
    response = alice_client.get(f"/api/messages/with/{bob.pk}", {"cursor": cursor})
    assert response.status_code in (400, 404)
    assert "detail" in response.json()


def test_a_forged_cursor_with_a_valid_position_only_pages_through_the_callers_thread(alice_client, alice, bob, carol):
    """A cursor is a position in the thread, never a way into someone else's messages."""
    ours = MessageFactory(sender=alice, recipient=bob)
    MessageFactory(sender=bob, recipient=carol)
    response = alice_client.get(
        f"/api/messages/with/{bob.pk}", {"cursor": _cursor(urlencode({"o": 0, "p": "2999-01-01 00:00:00+00:00"}))}
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ours.pk]


EDGE_OF_THE_CALENDAR = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31 23:59:59.999999-00:01"]


@pytest.mark.parametrize("position", EDGE_OF_THE_CALENDAR)
def test_a_cursor_time_past_the_calendar_in_utc_is_400(alice_client, alice, bob, position):
    """A time whose offset takes it past year 9999 or before year 1 in UTC is refused like search's `since`."""
    MessageFactory(sender=alice, recipient=bob)
    # Encoded as DRF encodes its cursors (a raw "+" would be read as a space).
    for cursor in (_cursor(urlencode({"p": position})), _cursor(urlencode({"o": 0, "r": 1, "p": position}))):
        response = alice_client.get(f"/api/messages/with/{bob.pk}", {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json() == {"cursor": ["Datetime value out of range."]}
    search = alice_client.post("/api/messages/search", {"query": "message", "since": position}, format="json")
    assert search.status_code == 400
    assert search.json() == {"since": ["Datetime value out of range."]}


@pytest.mark.parametrize("position", EDGE_OF_THE_CALENDAR)
def test_any_cursor_on_the_thread_page_leads_to_its_newest_messages(client, alice, bob, position):
    """The page reads around an anchor, not by cursor: the links of its cursor pages go to the newest."""
    MessageFactory(sender=alice, recipient=bob)
    client.force_login(alice)
    response = client.get(f"/inbox/with/{bob.pk}/", {"cursor": _cursor(urlencode({"p": position}))})
    assert (response.status_code, response["Location"]) == (302, f"/inbox/with/{bob.pk}/")


def test_a_cursor_time_at_the_edge_of_the_calendar_that_stays_in_it_pages_normally(alice_client, alice, bob):
    """Only a time past the calendar in UTC is refused: the latest and the earliest times still page."""
    ours = MessageFactory(sender=alice, recipient=bob)
    expected = {"9999-12-31T23:59:59+23:59": [ours.pk], "9999-12-31T23:59:59+00:00": [ours.pk]}
    expected["0001-01-01T00:00:00-23:59"] = []  # nothing is older
    for position, ids in expected.items():
        response = alice_client.get(f"/api/messages/with/{bob.pk}", {"cursor": _cursor(urlencode({"p": position}))})
        assert response.status_code == 200, position
        assert [row["id"] for row in response.json()["results"]] == ids


def test_huge_offsets_in_a_cursor_are_capped_not_an_error(alice_client, alice, bob):
    MessageFactory(sender=alice, recipient=bob)
    response = alice_client.get(f"/api/messages/with/{bob.pk}", {"cursor": _cursor("o=" + "9" * 30)})
    assert response.status_code == 200
    assert response.json()["results"] == []


# --- malformed JSON and wrong types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"recipient_id": 2, "body": ', b"{'recipient_id': 2}", b"", b"nul\x00", b'{"body": NaN}', b"\xef\xbb\xbf{}"],
)
def test_malformed_json_is_400(alice_client, raw):
    response = send_raw(alice_client, raw)
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_an_unsupported_content_type_is_415(alice_client, bob):
    response = send_raw(alice_client, b"recipient_id=2&body=hi", content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recipient_id", "abc"),
        ("recipient_id", [1]),
        ("recipient_id", {"id": 1}),
        ("recipient_id", True),
        ("recipient_id", 1.5),
        ("recipient_id", 2**63),
        ("recipient_id", -1),
        ("recipient_id", None),
        ("body", ["hello"]),
        ("body", {"text": "hello"}),
        ("reply_to_id", "abc"),
        ("reply_to_id", 2**40),
        ("attachment", "a string"),
        ("attachment", ["x"]),
        ("attachment", {"name": 5, "data": "aGk="}),
        ("attachment", {"name": "a.txt", "data": "not base64!"}),
        ("attachment", {"name": "a.txt", "data": 12}),
        ("attachment", {"name": "a.txt", "content_type": ["x"], "data": "aGk="}),
        ("attachment", {"name": "", "data": "aGk="}),
    ],
)
def test_wrong_types_on_send_are_400_with_the_field_named(alice_client, bob, field, value):
    payload = {"recipient_id": bob.pk, "body": "hello", field: value}
    response = send_json(alice_client, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Message.objects.count() == 0


def test_a_json_array_or_scalar_instead_of_an_object_is_400(alice_client):
    for raw in (b"[1, 2]", b'"hello"', b"42", b"null"):
        assert send_raw(alice_client, raw).status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"query": ""},
        {"query": "x" * 201},
        {"query": ["x"]},
        {"query": "x", "since": "yesterday"},
        {"query": "x", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"query": "x", "with_user_id": "bob"},
        {"query": "x", "with_user_id": 2**40},
        {"query": "x", "has_attachment": "maybe"},
        {"query": "x", "unread": [True]},
    ],
)
def test_bad_search_input_is_400(alice_client, payload):
    assert alice_client.post("/api/messages/search", payload, format="json").status_code == 400


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001, ["spam"], {"why": "spam"}, None])
def test_bad_report_reasons_are_400(bob_client, alice, bob, reason):
    message = MessageFactory(sender=alice, recipient=bob)
    response = bob_client.post(f"/api/messages/{message.pk}/report", {"reason": reason}, format="json")
    assert response.status_code == 400
    assert not message.reports.exists()


@pytest.mark.parametrize("path", ["/api/messages/abc", "/api/messages/with/abc", "/api/messages/1.5/read", "/api/nope"])
def test_unknown_api_urls_are_json_404s(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/api/messages/99999999999999999999", "/api/messages/with/99999999999999999999"])
def test_ids_beyond_any_integer_column_are_404(alice_client, path):
    assert alice_client.get(path).status_code == 404


def test_options_on_every_kind_of_endpoint_is_not_a_server_error(alice_client, bob):
    for path in (SEND, f"/api/messages/mark-conversation-read/{bob.pk}", "/api/messages/1", "/api/auth/token/"):
        assert alice_client.options(path).status_code == 200, path


def test_an_oversized_multipart_upload_is_refused_while_it_streams(small_attachments, rf):
    """The upload handler passes no byte past the limit on: the rest of a huge file is never kept in memory or
    on disk, and the file reaches the view as a `RefusedUpload` of its size (messaging/tests/test_composer.py)."""
    from django.core.exceptions import RequestDataTooBig

    from messaging.uploads import AttachmentLimitUploadHandler

    handler = AttachmentLimitUploadHandler(rf.post(SEND))
    assert handler.handle_raw_input(None, {}, 5000, b"boundary") is None
    handler.new_file("attachment", "file.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"a" * 600, 0) == b"a" * 600
    assert handler.receive_data_chunk(b"a" * 600, 600) is None
    assert handler.file_complete(1200).size == 1200
    # A request too long to hold any valid message is refused before a byte of it is read.
    with pytest.raises(RequestDataTooBig):
        handler.handle_raw_input(None, {}, 10**12, b"boundary")


def test_a_request_keeps_one_attachments_worth_of_its_files_together(rf, small_attachments):
    """The limit holds for a request's files together, and only a part named `attachment` is kept: a page's
    form is read to its end, so many file parts must not each keep a limit's worth on disk."""
    from messaging.uploads import AttachmentLimitUploadHandler, RefusedUpload

    handler = AttachmentLimitUploadHandler(rf.post("/inbox/compose/"))
    handler.handle_raw_input(None, {}, 10**6, b"boundary")
    handler.new_file("other", "x.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"a" * 10, 0) is None
    assert isinstance(handler.file_complete(10), RefusedUpload)
    handler.new_file("attachment", "a.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"a" * 600, 0) == b"a" * 600
    assert handler.file_complete(600) is None  # kept by the next handler
    handler.new_file("attachment", "b.bin", "application/octet-stream", None)
    assert handler.receive_data_chunk(b"b" * 600, 0) is None  # 1,200 together: over the 1,000 of the limit
    assert isinstance(handler.file_complete(600), RefusedUpload)


def test_a_multipart_file_far_over_the_limit_is_413(alice_client, bob, small_attachments):
    response = send_file(alice_client, bob, b"a" * 200_000)
    assert response.status_code == 413
    assert Message.objects.count() == 0


def test_a_multipart_file_exactly_at_the_real_default_limit_is_accepted(alice_client, bob):
    from django.conf import settings

    response = send_file(alice_client, bob, b"\x00" * settings.MESSAGING_MAX_ATTACHMENT_BYTES)
    assert response.status_code == 201, response.content[:300]
    assert Message.objects.get().attachment_size == settings.MESSAGING_MAX_ATTACHMENT_BYTES


def test_a_request_for_an_unknown_host_is_a_json_400_under_api(alice_client):
    response = alice_client.get("/api/messages/unread-count", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request."}
