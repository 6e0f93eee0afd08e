"""`user_data` and `MeSerializer` render what DRF renders from the declared fields."""

import pytest
from rest_framework import serializers

from users.models import User
from users.serializers import MeSerializer, UserSerializer, once_per_person, user_data
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _declared(serializer_class: type[serializers.ModelSerializer], instance: User) -> dict:
    """DRF's own rendering: its loop over the declared fields (the serializer's `to_representation` skipped)."""
    return dict(serializers.ModelSerializer.to_representation(serializer_class(), instance))


def test_a_user_renders_as_its_declarations():
    """With a display name and without one (it falls back to the username), keys in the declared order."""
    UserFactory(display_name="Ada L."), UserFactory(display_name=""), UserFactory(read_receipts=False)
    users = list(User.objects.all())
    assert len(users) == 3
    for user in users:
        for serializer_class in (UserSerializer, MeSerializer):
            declared = _declared(serializer_class, user)
            rendered = serializer_class(user).data
            assert rendered == declared
            assert list(rendered) == list(declared)
        assert user_data(user) == _declared(UserSerializer, user)


def test_once_per_person_renders_each_person_once_by_id():
    """A person met again, as the same instance or another of the same id, gets the shape made the first time;
    another person gets their own."""
    ada, bob = UserFactory(display_name="Ada L."), UserFactory()
    rendered: list[int] = []

    def render(user: User) -> dict:
        rendered.append(user.pk)
        return user_data(user)

    person = once_per_person(render)
    first = person(ada)
    assert person(User.objects.get(pk=ada.pk)) is first
    assert person(ada) is first
    assert person(bob) == user_data(bob)
    assert first == user_data(ada)
    assert rendered == [ada.pk, bob.pk]
