"""Forms of the inbox pages. They only parse input: every rule about messages is checked by the services."""

from contextlib import suppress
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
        name = f"{user.display_name} (@{user.username})" if user.display_name else user.username
        # `blocked`: `selectors.participants_for`'s mark of a person the sender blocked (they may still write).
        return f"{name} (blocked)" if getattr(user, "blocked", False) else name


class PeopleSearchForm(forms.Form):
    search = forms.CharField(
        label="Find a person",
        required=False,
        max_length=150,
        widget=forms.SearchInput(attrs={"autocomplete": "off", "placeholder": "Name or username"}),
    )


class ComposeForm(MessageForm, PeopleSearchForm):
    """A new message: the recipient is one of the sender's participants (`selectors.participants_for`).

    `search` narrows the people listed: the compose page's *Find* button posts the whole form, so a draft
    survives a search without JavaScript. `list_people` sets whom the recipient list shows.
    """

    field_order = ["search", "recipient", "body", "attachment"]

    def __init__(self, *args: Any, participants: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.participants = participants
        self.recipient_field = ParticipantChoiceField(label="To", queryset=participants, empty_label="Choose a person")
        self.fields["recipient"] = self.recipient_field
        self.order_fields(self.field_order)

    def list_people(self, people: QuerySet[User], *, limit: int) -> None:
        """List the first `limit` of `people` as the recipient's choices (validation still takes any
        participant), and the person already chosen if they are not among them, first; when nobody is chosen
        and one person is listed, choose them."""
        listed = list(people[:limit])
        # (The raw value, not the bound field's: that would keep the initial value read here.)
        chosen = self.data.get(self.add_prefix("recipient")) if self.is_bound else self.initial.get("recipient")
        if chosen not in (None, "") and str(chosen) not in {str(person.pk) for person in listed}:
            with suppress(TypeError, ValueError, OverflowError):  # not an id: the field's validation says so
                listed[:0] = list(self.participants.filter(pk=int(chosen)))
        if chosen in (None, "") and len(listed) == 1 and not self.is_bound:
            self.initial["recipient"] = listed[0].pk  # the one person found is the one meant
        field = self.recipient_field
        field.widget.choices = [
            ("", field.empty_label),
            *((person.pk, field.label_from_instance(person)) for person in listed),
        ]


class SearchForm(forms.Form):
    q = forms.CharField(label="Search messages", required=False, max_length=200)  # as the API


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this message?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Moderators read this, together with the message.",
    )
