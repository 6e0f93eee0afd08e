"""Factories for users."""

import factory
from django.contrib.auth import get_user_model

from tests.openapi import SchemaCheckedClient
from users.tokens import RefreshToken

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    display_name = ""
    password = factory.django.Password(DEFAULT_PASSWORD)


def client_for(user) -> SchemaCheckedClient:
    """An API client that sends `user`'s JWT access token, as real clients (new and old) do; every answer it
    gets must match the OpenAPI schema (`tests.openapi`)."""
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client
