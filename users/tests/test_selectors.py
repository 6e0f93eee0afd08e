"""The user reads written as literal SQL (`users.selectors`) return what their ORM definitions return."""

import pytest

from users.models import User
from users.selectors import USER_COLUMNS, user_by_id
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_column_list_is_the_models():
    """A field added to the model is added to the literal SQL too, in the model's order (`from_db` needs it)."""
    assert tuple(field.attname for field in User._meta.concrete_fields) == USER_COLUMNS


def test_a_user_is_read_as_the_orm_reads_them_active_or_not_and_nobody_is_none():
    people = [UserFactory(), UserFactory(is_active=False), UserFactory(display_name="Zoë", read_receipts=False)]
    for person in people:
        expected = User.objects.filter(pk=person.pk).first()
        got = user_by_id(person.pk)
        assert got is not None and type(got) is User
        assert [getattr(got, c) for c in USER_COLUMNS] == [getattr(expected, c) for c in USER_COLUMNS]
        assert got._state.adding is False and got._state.db == "default"
    assert user_by_id(10**12) is None
