"""Forms of the inbox pages. They only parse input: every rule about messages is checked by the services."""

from contextlib import suppress
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from users.models import User

from .. import selectors, services


def megabytes(size: int) -> str:
    """A size as people read it beside a file picker: `10 MB`, `2.5 MB`, `980 KB` (of 1,024, as browsers and
    Django's `filesizeformat` count). composer.js writes sizes with the same rule."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def as_typed(body: str) -> str:
    """A textarea's text with the line breaks the API gets: a browser sends them as CRLF (as HTML says)."""
    return body.replace("\r\n", "\n")


class MessageForm(forms.Form):
    """A reply in a thread: a body, an optional file, optionally the message it answers.

    The page's script (composer.js) checks what it can before sending, with the texts the server would answer:
    the widgets carry them (`data-max-bytes`, `data-too-large`, `data-empty`).
    """

    refused_status = 400  # the status of the page showing the form when it is refused (429: sending too fast)

    body = forms.CharField(label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    attachment = forms.FileField(label="Attachment (optional)", required=False)
    reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit = settings.MESSAGING_MAX_ATTACHMENT_BYTES
        self.too_large_error = f"The file is larger than the limit of {megabytes(limit)}."
        attachment = self.fields["attachment"]
        attachment.help_text = f"Up to {megabytes(limit)}"
        attachment.widget.attrs.update({"data-max-bytes": limit, "data-too-large": self.too_large_error})
        self.fields["body"].widget.attrs.update({"data-composer-body": "", "data-empty": services.EMPTY_MESSAGE_ERROR})

    def clean_body(self) -> str:
        return as_typed(self.cleaned_data["body"])

    def clean_attachment(self) -> UploadedFile | None:
        """The file, unless it is over the limit (`messaging.uploads` kept none of its bytes then): refused
        with the other errors of the form, before the send is tried."""
        upload = self.cleaned_data.get("attachment")
        if upload:
            try:
                services.check_attachment_size(upload.size or 0)
            except services.AttachmentTooLarge:
                raise forms.ValidationError(self.too_large_error, code="too_large") from None
        return upload

    @property
    def file_to_choose_again(self) -> str | None:
        """The name of a file sent with a form refused for another reason than the file: a browser cannot put
        a file back into a file input, so the page asks for it again."""
        upload = self.files.get("attachment")
        if upload is None or not self.errors or "attachment" in self.errors:
            return None
        return upload.name or "the file"


class EditForm(forms.Form):
    """A new body for a message its sender edits. Its ids (`id_edit_body`) differ from the composer's: with the
    script, the form opens inside the thread page, beside the composer."""

    body = forms.CharField(label="Message", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("auto_id", "id_edit_%s")
        super().__init__(*args, **kwargs)

    def clean_body(self) -> str:
        return as_typed(self.cleaned_data["body"])


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


class ThreadAnchorForm(forms.Form):
    """Where the thread page opens (`selectors.thread_window`): `anchor` is `newest` (the default),
    `first_unread` or a message id; `num_before` and `num_after` how many messages each side of it."""

    anchor = forms.RegexField(regex=r"^(newest|first_unread|[0-9]+)\Z", required=False, max_length=40)
    num_before = forms.IntegerField(required=False, min_value=0, max_value=selectors.MAX_WINDOW_SIDE)
    num_after = forms.IntegerField(required=False, min_value=0, max_value=selectors.MAX_WINDOW_SIDE)
