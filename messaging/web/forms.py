"""Forms of the inbox pages. They only parse input: every rule about messages is checked by the services."""

from typing import Any

from django import forms
from django.db.models import QuerySet

from users.models import User


class MessageForm(forms.Form):
    """A reply in a thread: a body, an optional file, optionally the message it answers."""

    refused_status = 400  # the status of the page showing the form when it is refused (429: sending too fast)

    body = forms.CharField(label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4}))
    attachment = forms.FileField(label="Attachment (optional)", required=False)
    reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ParticipantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.display_name} (@{user.username})" if user.display_name else user.username


class ComposeForm(MessageForm):
    """A new message: the recipient is one of the sender's participants (`selectors.participants_for`)."""

    field_order = ["recipient", "body", "attachment"]

    def __init__(self, *args: Any, participants: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.recipient_field = ParticipantChoiceField(label="To", queryset=participants, empty_label="Choose a person")
        self.fields["recipient"] = self.recipient_field
        self.order_fields(self.field_order)


class PeopleSearchForm(forms.Form):
    search = forms.CharField(label="Find a person", required=False, max_length=150)


class SearchForm(forms.Form):
    q = forms.CharField(label="Search messages", required=False, max_length=200)  # as the API


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this message?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Moderators read this, together with the message.",
    )


class ThreadAnchorForm(forms.Form):
    """Where the thread page opens (`selectors.thread_window`): `anchor` is `newest` (the default),
    `first_unread` or a message id; `num_before` and `num_after` how many messages each side of it."""

    anchor = forms.RegexField(regex=r"^(newest|first_unread|[0-9]+)\Z", required=False, max_length=40)
    num_before = forms.IntegerField(required=False, min_value=0, max_value=100)
    num_after = forms.IntegerField(required=False, min_value=0, max_value=100)
