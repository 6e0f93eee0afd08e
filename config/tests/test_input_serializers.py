"""`config.serializers.InputSerializer`: shallow copies of the declared fields validate exactly as DRF's deep
copies do, each serializer binds fields of its own, and a field holding fields is refused."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework import serializers

from config.serializers import InputSerializer
from legacy_dm.serializers import ConversationMessageInputSerializer, DirectMessageInputSerializer
from messaging.serializers import (
    EditMessageSerializer,
    ParticipantQuerySerializer,
    ReportInputSerializer,
    SearchSerializer,
    SendMessageSerializer,
)
from users.serializers import LogoutSerializer, ProfileUpdateSerializer


def deep_twin(cls: type[InputSerializer]) -> type[serializers.Serializer]:
    """`cls` with DRF's own `get_fields` (deep copies of the declarations)."""
    return type(f"Deep{cls.__name__}", (cls,), {"get_fields": serializers.Serializer.get_fields})


def outcome(cls: type[serializers.Serializer], data: object) -> tuple:
    serializer = cls(data=data)
    valid = serializer.is_valid()
    return (valid, serializer.validated_data if valid else serializer.errors)


TOO_BIG = 2**31
INPUTS = {
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
}


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
        assert (declared.parent, declared.field_name, declared.label, declared.source) == (None, None, None, None)
    first.fields["body"].required = True  # a change to one serializer's field stays with it
    assert not second.fields["body"].required
    assert not SendMessageSerializer(data={}).fields["body"].required


def test_serializers_validating_at_once_in_threads_keep_their_own_results():
    cases = [(cls, data) for cls, inputs in INPUTS.items() for data in inputs if cls is not ProfileUpdateSerializer]
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
