"""`config.serializers.InputSerializer`: shallow copies of the declared fields validate exactly as DRF's deep
copies do, each serializer binds fields of its own, and a field holding fields is refused."""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.utils.formatting import lazy_format

from config.serializers import InputSerializer
from legacy_dm.serializers import ConversationMessageInputSerializer, DirectMessageInputSerializer
from messaging.serializers import (
    EditMessageSerializer,
    ParticipantQuerySerializer,
    ReportInputSerializer,
    SearchSerializer,
    SendMessageMultipartSerializer,
    SendMessageSerializer,
    ThreadQuerySerializer,
)
from users.serializers import LogoutSerializer, ProfileUpdateSerializer, RegisterSerializer


def deep_twin(cls: type[InputSerializer]) -> type[serializers.Serializer]:
    """`cls` with DRF's own `get_fields` (deep copies of the declarations)."""
    return type(f"Deep{cls.__name__}", (cls,), {"get_fields": serializers.Serializer.get_fields})


def outcome(cls: type[serializers.Serializer], data: object) -> tuple:
    serializer = cls(data=data)
    valid = serializer.is_valid()
    return (valid, serializer.validated_data if valid else serializer.errors)


TOO_BIG = 2**31
INPUTS: dict[type[InputSerializer], list[Any]] = {
    SendMessageSerializer: [
        {"recipient_id": 2, "body": "hello"},
        {"recipient_id": 2},
        {"recipient_id": "2", "body": "  padded  ", "reply_to_id": None},
        {"recipient_id": 2, "body": "x", "reply_to_id": 7},
        {"recipient_id": 0, "body": "x"},
        {"recipient_id": TOO_BIG, "body": "x"},
        {"recipient_id": "two", "body": "x"},
        {"recipient_id": 2, "body": None},
        {"recipient_id": 2, "body": "a\x00b"},
        {"recipient_id": 2, "body": "x" * 10_001},
        {"recipient_id": 2, "body": 5},
        {"recipient_id": 2, "reply_to_id": -1},
        {"recipient_id": 2, "attachment": {"name": "a.txt", "content_type": "text/plain", "data": "aGk="}},
        {"recipient_id": 2, "attachment": {"name": "", "data": "aGk="}},
        {"recipient_id": 2, "attachment": {"name": "a.txt", "data": "not base64!"}},
        {"recipient_id": 2, "attachment": "a file"},
        {},
        [],
        "text",
    ],
    SendMessageMultipartSerializer: [{"recipient_id": 2, "body": "hi"}, {"recipient_id": 2, "attachment": "x"}, {}],
    ThreadQuerySerializer: [
        {},
        {"anchor": "newest", "num_before": "5"},
        {"anchor": "first_unread", "num_after": 0},
        {"anchor": "12"},
        {"anchor": "oldest"},
        {"anchor": "newest", "cursor": "abc"},
        {"num_before": "3"},
        {"anchor": "newest", "num_before": -1},
        {"anchor": "newest", "num_after": 100_000},
    ],
    EditMessageSerializer: [{"body": "new"}, {"body": ""}, {}, {"body": None}, {"body": "x" * 10_001}],
    SearchSerializer: [
        {"query": "meeting"},
        {"query": "meeting", "since": "2026-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        {"query": "meeting", "has_attachment": "yes", "unread": True, "with_user_id": 3},
        {"query": ""},
        {"query": "x" * 201},
        {"since": "yesterday"},
    ],
    ParticipantQuerySerializer: [{}, {"search": "ann"}, {"search": "x" * 151}, {"search": "a\x00"}],
    ReportInputSerializer: [{"reason": "spam"}, {"reason": ""}, {}, {"reason": "x" * 1001}],
    DirectMessageInputSerializer: [
        {"receiver_id": 2, "content": "hi"},
        {"receiver_id": 2, "content": None, "file_data": "aGk=", "file_name": "a.txt", "file_type": "text/plain"},
        {"receiver_id": 2, "file_data": "%%%", "file_name": "a.txt"},
        {"receiver_id": 2, "file_data": "aGk=", "file_type": "x" * 101},
        {"receiver_id": "x"},
        {"content": "hi"},
    ],
    ConversationMessageInputSerializer: [{"content": "hi"}, {"content": " "}, {}, {"content": 3}],
    ProfileUpdateSerializer: [
        {"display_name": "Ann"},
        {"read_receipts": False, "email_notifications": True},
        {"read_receipts": "no"},
        {"display_name": "x" * 151},
    ],
    LogoutSerializer: [{"refresh": "token"}, {}, {"refresh": None}],
    RegisterSerializer: [
        {"username": "newcomer", "email": "newcomer@example.com", "password": "a long enough passphrase"},
        {"username": "x" * 151, "email": "not an email", "password": "short"},
        {"username": "newcomer", "email": "newcomer@example.com", "password": "p" * 129, "display_name": "N"},
        {},
    ],
}


@pytest.mark.django_db  # the sign-up's email check reads the users
@pytest.mark.parametrize("cls", INPUTS, ids=lambda cls: cls.__name__)
def test_shallow_copies_validate_as_deep_copies_do(cls):
    twin = deep_twin(cls)
    for data in INPUTS[cls]:
        assert outcome(cls, data) == outcome(twin, data), data


def test_each_serializer_binds_fields_of_its_own_and_the_declarations_stay_unbound():
    first, second = SendMessageSerializer(data={}), SendMessageSerializer(data={})
    for name, declared in SendMessageSerializer._declared_fields.items():
        mine, theirs = first.fields[name], second.fields[name]
        assert mine is not theirs and mine is not declared
        assert (mine.parent, theirs.parent) == (first, second)
        assert (mine.field_name, mine.source_attrs) == (name, [name])
        # Never bound: each request's copy starts as declared.
        assert [getattr(declared, name) for name in ("parent", "field_name", "label", "source")] == [None] * 4
    first.fields["body"].required = True  # a change to one serializer's field stays with it
    assert not second.fields["body"].required
    assert not SendMessageSerializer(data={}).fields["body"].required


def test_serializers_validating_at_once_in_threads_keep_their_own_results():
    cases = [
        (cls, data)
        for cls, inputs in INPUTS.items()
        for data in inputs
        if cls not in (ProfileUpdateSerializer, RegisterSerializer)  # their checks read the database
    ]
    expected = [outcome(cls, data) for cls, data in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            assert list(pool.map(lambda case: outcome(*case), cases)) == expected


@pytest.mark.parametrize(
    "field",
    [
        serializers.ListField(child=serializers.IntegerField()),
        serializers.DictField(child=serializers.CharField()),
        SendMessageSerializer(),
        SendMessageSerializer(many=True),
    ],
    ids=["list", "dict", "serializer", "many"],
)
def test_a_field_holding_fields_is_refused_when_the_class_is_defined(field):
    with pytest.raises(TypeError, match="Nested.inner holds a field or serializer of its own"):
        type("Nested", (InputSerializer,), {"inner": field})


def bounded() -> type[InputSerializer]:
    """A new class, whose bounds' messages (DRF's `lazy_format`) no request has used yet."""
    return type(
        "Bounded",
        (InputSerializer,),
        {"number": serializers.IntegerField(min_value=1, max_value=9), "text": serializers.CharField(max_length=3)},
    )


def lazy_messages(cls: type[InputSerializer]) -> list[lazy_format]:
    messages = (
        getattr(validator, "message", None) for field in cls._declared_fields.values() for validator in field.validators
    )
    return [message for message in messages if isinstance(message, lazy_format)]


def test_the_shared_bounds_messages_are_formatted_when_the_class_first_makes_its_fields():
    """DRF's `lazy_format` formats itself on first use and then drops its arguments; two threads using one at
    once could format with the dropped arguments (a TypeError: a 500). Shared by the copies, each is formatted
    once, before any request uses it. (Fails on 5320b82: still unformatted after a request made its fields.)"""
    cls = bounded()
    messages = lazy_messages(cls)
    assert len(messages) == 3 and all(message.result is None for message in messages)
    assert set(cls(data={}).fields) == {"number", "text"}
    assert sorted(str(message.result) for message in messages) == [
        "Ensure this field has no more than 3 characters.",
        "Ensure this value is greater than or equal to 1.",
        "Ensure this value is less than or equal to 9.",
    ]


def test_threads_refusing_at_once_with_a_new_class_all_get_the_bounds_errors():
    """The race above as a request meets it: a new worker's first refusals, four threads at once, the
    interpreter switching threads as often as it can."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    failures: list[BaseException] = []
    expected = {
        "number": ["Ensure this value is greater than or equal to 1."],
        "text": ["Ensure this field has no more than 3 characters."],
    }
    try:
        for _ in range(100):
            cls, barrier = bounded(), threading.Barrier(4)

            def refuse(cls=cls, barrier=barrier):
                barrier.wait()
                try:
                    serializer = cls(data={"number": 0, "text": "long"})
                    assert not serializer.is_valid() and serializer.errors == expected
                except BaseException as error:  # noqa: BLE001  # a thread's failure, reported below
                    failures.append(error)

            threads = [threading.Thread(target=refuse) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []
