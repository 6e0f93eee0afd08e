"""The inbox pages: parse the form, call one selector or service, render a template or redirect.

Services report problems with `ValidationError`, `PermissionDenied`, `Http404` or `AttachmentTooLarge`;
here they become form errors, messages-framework notices or the 404 page, never a 500.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial, wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.views import APIView

from config.middleware import content_security_policy
from config.throttles import SendRateThrottle, as_drf_request
from users.models import User
from users.requests import AuthenticatedHttpRequest

from .. import selectors, services
from ..attachments import attachment_response, image_preview_response
from ..broker import events_cursor
from ..models import Message
from ..pagination import CountedPaginator
from .forms import ComposeForm, EditForm, MessageForm, PeopleSearchForm, ReportForm, SearchForm, ThreadAnchorForm
from .grouping import grouped

PAGE_SIZE = 20
# The thread page shows this many messages each side of its anchor (before the newest); a live refresh of it
# at most `THREAD_LIVE_MAX` + 1 (the anchored read's bound), with room for `THREAD_LIVE_ROOM` arrivals at the
# newest (`_live_url`).
THREAD_SIDE = 30
THREAD_LIVE_MAX = selectors.MAX_WINDOW_SIDE
THREAD_LIVE_ROOM = 40
# The compose page lists at most this many people; the search box narrows the list.
MAX_LISTED_PARTICIPANTS = 200


def page(view):
    """An inbox page: logged-in users only (others go to the login page with ?next=), with the CSP, and
    live from what it shows (`live_from`)."""
    return content_security_policy(login_required(live_from(view)))


def live_from(view):
    """Note where the caller's event log stands before the page reads anything: live.js resumes the stream
    from there, so no event between this render and the stream's start is missed."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.events_after = events_cursor(request.user)
        return view(request, *args, **kwargs)

    return wrapped


@dataclass(frozen=True)
class ThreadEntry:
    """A message of the thread page, with what its viewer may know of it: the preview of the message it
    replies to (None where they may not see that one) and when it was read (`Message.read_at_for`). A message
    a moderator hid is `removed`: a placeholder in its place, its side and time only. `unsendable`: the viewer
    may unsend it now (`services.may_unsend`), so its menu offers it."""

    message: Message
    reply_preview: str | None
    read_at: datetime | None
    starts_group: bool = True  # the first of a group of messages names its author (`grouping.grouped`)
    removed: bool = False
    unread: bool = False  # received by the viewer and not read (`Message.is_unread_for`)
    editable: bool = False  # the viewer may edit it now (`services.may_edit`): its menu offers Edit
    unsendable: bool = False

    @classmethod
    def of(cls, message: Message, *, viewer: User, now: datetime, blocked: bool) -> "ThreadEntry":
        """`blocked`: whether the other person blocks `viewer` (`selectors.Relation.blocked_by`)."""
        if message.hidden_at is not None:
            return cls(message=message, reply_preview=None, read_at=None, removed=True)
        return cls(
            message=message,
            reply_preview=message.reply_to.preview_for(viewer) if message.reply_to is not None else None,
            read_at=message.read_at_for(viewer),
            unread=message.is_unread_for(viewer),
            editable=services.may_edit(user=viewer, message=message, now=now, blocked=blocked),
            unsendable=services.may_unsend(user=viewer, message=message, now=now),
        )


@dataclass(frozen=True)
class SearchHit:
    """A message found by the search page, with the other person of its conversation."""

    message: Message
    partner: User


# --- Sending (shared by the thread's reply form and the compose page) --------------------------------------


def _attachment_input(upload: UploadedFile | None) -> services.AttachmentInput | None:
    if not upload:
        return None
    # An upload always has a size and a name; Django types them optional (a file object may lack them).
    services.check_attachment_size(upload.size or 0)  # before the bytes are read
    return services.AttachmentInput(name=upload.name or "", content_type=upload.content_type or "", data=upload.read())


def _too_fast(request: AuthenticatedHttpRequest, form: forms.Form) -> bool:
    """Whether the caller is over the send rate (a send or an edit, as on the API); if so, the form says so."""
    throttle = SendRateThrottle()
    if throttle.allow_request(as_drf_request(request), APIView()):  # the rate is per user, of no view
        return False
    wait = throttle.wait()
    form.add_error(None, f"You are sending messages too fast. Try again in {int(wait or 1) + 1} seconds.")
    return True


def _send_from_form(request: AuthenticatedHttpRequest, form: MessageForm, *, recipient_id: int) -> Message | None:
    """Send the message of a valid form; on a refusal, put the reason on the form and return None."""
    if _too_fast(request, form):
        form.refused_status = 429
        return None
    try:
        return services.send_message(
            sender=request.user,
            recipient_id=recipient_id,
            body=form.cleaned_data["body"],
            reply_to_id=form.cleaned_data.get("reply_to"),
            attachment=_attachment_input(form.cleaned_data.get("attachment")),
        )
    except services.AttachmentTooLarge:
        form.add_error("attachment", form.too_large_error)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or "You cannot send a message to this person.")
    except ValidationError as exc:
        _add_service_errors(form, exc)
    return None


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's `ValidationError` on the form: each error at the field it concerns (the services key them
    by the API's names), the rest above the form."""
    errors: list[tuple[str | None, list[str]]] = (
        [*exc.message_dict.items()] if hasattr(exc, "error_dict") else [(None, exc.messages)]
    )
    field_of: dict[str | None, str] = {"body": "body", "recipient_id": "recipient", "attachment": "attachment"}
    for key, field_errors in errors:
        field = field_of.get(key)
        form.add_error(field if field in form.fields else None, field_errors)


def _thread_url(user_id: int, message_id: int | None = None) -> str:
    url = reverse("messaging-web:thread", args=[user_id])
    return f"{url}#message-{message_id}" if message_id else url


# --- Pages -------------------------------------------------------------------------------------------------


@require_GET
@page
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Conversations, newest activity first, with the last message and the number unread (the total is the
    frame's `nav_unread`)."""

    read = partial(selectors.conversations_page, user=request.user)
    page_obj = CountedPaginator(read, PAGE_SIZE).get_page(request.GET.get("page"))
    conversations = page_obj.object_list
    return render(
        request,
        "messaging/inbox.html",
        {
            "nav": "inbox",
            "page_obj": page_obj,
            "conversations": conversations,
        },
    )


@require_http_methods(["GET", "POST"])
@page
def thread(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """The conversation with one person around a message, newest at the bottom (`?anchor=`: `newest`, the
    default, `first_unread` or a message id; `?num_before=`, `?num_after=`); a reply form; opening it marks
    it read, after reading where the reader stopped (the first unread message)."""
    other = selectors.get_user_or_404(user_id=user_id)
    if "cursor" in request.GET:  # the links of the pages by cursor, before anchors: to the newest messages
        return redirect(_thread_url(other.pk))
    where = ThreadAnchorForm(request.GET)
    if not where.is_valid():
        detail = " ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in where.errors.items())
        return render(request, "400.html", {"detail": detail}, status=400)
    # The old system let people message themselves; those carried messages are shown (read-only) here, as the
    # inbox lists them. Sending to oneself is refused by the service like any other rule.
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            message = _send_from_form(request, form, recipient_id=other.pk)
            if message is not None:
                messages.success(request, "Message sent.")
                return redirect(_thread_url(other.pk, message.pk))
        status = form.refused_status
        anchor: int | str = selectors.ANCHOR_NEWEST  # the composer's page: the newest messages
    else:
        form = MessageForm(initial={"reply_to": request.GET.get("reply_to")})
        status = 200
        anchor = where.cleaned_data["anchor"] or selectors.ANCHOR_NEWEST
    window = selectors.thread_window(
        user=request.user,
        other=other,
        anchor=anchor,
        num_before=_or(where.cleaned_data["num_before"], THREAD_SIDE),
        num_after=_or(where.cleaned_data["num_after"], THREAD_SIDE),
        with_removed=True,  # placeholders where a moderator hid a message
    )
    now = timezone.now()
    relation = selectors.relation(user=request.user, other=other)
    thread_messages = grouped(
        [
            ThreadEntry.of(message, viewer=request.user, now=now, blocked=relation.blocked_by)
            for message in window.messages
        ]
    )
    _mark_read_when_opened(request, other, window.messages)  # a placeholder is never unread

    reply_to_id = form["reply_to"].value()
    # Only a message of this thread is quoted (the one a send may reply to).
    replying_to = (
        selectors.message_of_thread(user=request.user, other=other, message_id=reply_to_id) if reply_to_id else None
    )

    context = {
        "other": other,
        "thread_messages": thread_messages,
        "window": window,
        "navigation": _thread_navigation(other.pk, window, explicit=anchor != selectors.ANCHOR_NEWEST),
        "form": form,
        "replying_to": replying_to,
        "relation": relation,
        "is_self": other.pk == request.user.pk,
    }
    return render(request, "messaging/thread.html", context, status=status)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


@dataclass(frozen=True)
class ThreadNavigation:
    """The links of a thread page around its window (`selectors.ThreadWindow`): the older and the newer
    messages (None at the thread's ends), the first unread message (None when there is none), what the live
    region fetches to refresh what it shows, and the message the page opens at (None: the newest)."""

    older_url: str | None
    newer_url: str | None
    first_unread_url: str | None
    live_url: str
    focus_id: int | None
    live_max: int = THREAD_LIVE_MAX  # what thread.js builds `live_url` again with, as `_live_url` does
    live_room: int = THREAD_LIVE_ROOM


def _window_url(user_id: int, fragment: int | None = None, **query: int | str) -> str:
    url = f"{reverse('messaging-web:thread', args=[user_id])}?{urlencode(query)}"
    return f"{url}#message-{fragment}" if fragment else url


def _thread_navigation(user_id: int, window: selectors.ThreadWindow, *, explicit: bool) -> ThreadNavigation:
    """The links of a thread page showing `window`; `explicit`: the page was asked for a message (it opens
    there, not at the newest)."""
    shown = window.messages
    older = newer = None
    if shown and not window.found_oldest:
        older = _window_url(user_id, shown[0].pk, anchor=shown[0].pk, num_after=0)
    if shown and not window.found_newest:
        newer = _window_url(user_id, shown[-1].pk, anchor=shown[-1].pk, num_before=0)
    unread = window.first_unread_id
    return ThreadNavigation(
        older_url=older,
        newer_url=newer,
        first_unread_url=_window_url(user_id, unread, anchor=unread) if unread else None,
        live_url=_live_url(user_id, [message.pk for message in shown], at_newest=window.found_newest),
        focus_id=window.anchor if explicit else None,
    )


def _live_url(user_id: int, shown: list[int], *, at_newest: bool) -> str:
    """What a live refresh of a thread page fetches: what the page shows (`shown`, ids oldest first) and, at the
    newest, what arrives after it, up to `THREAD_LIVE_MAX` messages after the first shown (past that, the
    newest and as many before them as the read gives). thread.js writes the same after loading more."""
    if not shown:
        return _window_url(user_id, anchor=selectors.ANCHOR_NEWEST)
    if not at_newest:
        return _window_url(user_id, anchor=shown[0], num_before=0, num_after=min(len(shown) - 1, THREAD_LIVE_MAX))
    if len(shown) - 1 + THREAD_LIVE_ROOM <= THREAD_LIVE_MAX:
        return _window_url(user_id, anchor=shown[0], num_before=0, num_after=THREAD_LIVE_MAX)
    return _window_url(user_id, anchor=selectors.ANCHOR_NEWEST, num_before=THREAD_LIVE_MAX)


@require_http_methods(["GET", "POST"])
@page
def compose(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new message to one of the participants; `?to=` preselects, `search` narrows the list (`?search=`, or
    the form's *Find* button, which posts the draft and shows it again: nothing typed is lost)."""
    people_form = PeopleSearchForm(request.POST if request.method == "POST" else request.GET)
    search = people_form.cleaned_data["search"] if people_form.is_valid() else ""
    participants = selectors.participants_for(user=request.user)
    status = 200
    if request.method == "POST" and "find" not in request.POST:
        form = ComposeForm(request.POST, request.FILES, participants=participants)
        if form.is_valid():
            recipient = form.cleaned_data["recipient"]
            message = _send_from_form(request, form, recipient_id=recipient.pk)
            if message is not None:
                messages.success(request, f"Message sent to {recipient.public_name}.")
                return redirect(_thread_url(recipient.pk, message.pk))
        status = form.refused_status
    elif request.method == "POST":  # Find: the draft again, unchecked, with the people found
        draft = {name: request.POST.get(name) for name in ("recipient", "body", "reply_to")}
        form = ComposeForm(initial={**draft, "search": search}, participants=participants)
        form.errors.update(people_form.errors)
    else:
        form = ComposeForm(initial={"recipient": request.GET.get("to"), "search": search}, participants=participants)
        form.errors.update(people_form.errors)
    found = selectors.participants_for(user=request.user, search=search)
    form.list_people(found, limit=MAX_LISTED_PARTICIPANTS)
    context = {
        "nav": "compose",
        "form": form,
        "search": search,
        "blocked_ids": [person.pk for person in selectors.blocked_people(user=request.user)],
    }
    return render(request, "messaging/compose.html", context, status=status)


@require_GET
@page
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Messages matching `?q=`, best match first, each linking to its thread."""
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page_obj = None
    hits: list[SearchHit] = []
    if query:
        try:
            results = selectors.search_messages(user=request.user, query=query, filters={})
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            page_obj = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
            hits = [SearchHit(message=message, partner=message.partner_of(request.user)) for message in page_obj]
    return render(
        request,
        "messaging/search.html",
        {
            "nav": "search",
            "form": form,
            "query": query,
            "page_obj": page_obj,
            "hits": hits,
            "page_query": urlencode({"q": query}),
        },
    )


@require_POST
@page
def delete_message(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Delete a message for the caller only, then back to the thread where it was: around its neighbour, the
    message the anchored read settles on for an id it no longer shows (the next one, or the newest)."""
    message = selectors.access_message(user=request.user, message_id=message_id)
    partner = message.partner_of(request.user)
    services.delete_for_user(user=request.user, message_id=message.pk)
    messages.success(request, "Message deleted for you. The other person still sees it.")
    return _back_to_where_it_was(request.user, partner, message.pk)


def _back_to_where_it_was(user: User, partner: User, message_id: int) -> HttpResponse:
    """To the thread where a message the caller no longer sees was: around its neighbour, the message the
    anchored read settles on for an id it no longer shows (the next one, or the newest)."""
    neighbour = selectors.thread_window(user=user, other=partner, anchor=message_id, num_before=0, num_after=0).anchor
    if neighbour is None:  # it was the last message of the thread
        return redirect(_thread_url(partner.pk))
    return redirect(_window_url(partner.pk, neighbour, anchor=neighbour))


@require_http_methods(["GET", "POST"])
@page
def unsend_message(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Ask, then unsend a message the caller sent (`POST`): it is removed for both people. A refusal (not the
    sender, past the window) goes back to the message with the service's reason."""
    message = selectors.access_message(user=request.user, message_id=message_id)
    partner = message.partner_of(request.user)
    try:
        if request.method == "POST":
            services.unsend_message(user=request.user, message_id=message.pk)
        elif (refusal := services.unsend_refusal(user=request.user, message=message)) is not None:
            raise refusal
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect(_thread_url(partner.pk, message.pk))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_thread_url(partner.pk, message.pk))
    if request.method == "GET":
        return render(request, "messaging/unsend.html", {"message": message, "other": partner})
    messages.success(request, f"Message unsent: it is gone for you and for {partner.public_name}.")
    return _back_to_where_it_was(request.user, partner, message.pk)


@require_http_methods(["GET", "POST"])
@page
def delete_conversation(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """Ask, then delete the whole conversation with one person for the caller only (`POST`)."""
    other = selectors.get_user_or_404(user_id=user_id)
    if request.method == "POST":
        services.delete_conversation_for_user(user=request.user, other=other)
        messages.success(
            request,
            f"Conversation with {other.public_name} deleted for you. It comes back if either of you writes again.",
        )
        return redirect("messaging-web:inbox")
    return render(request, "messaging/delete_conversation.html", {"other": other})


@require_http_methods(["GET", "POST"])
@page
def edit_message(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Edit a message the caller sent (`services.edit_message`): its body in a form, then back to the thread at
    it. The thread's Edit item opens this page; with the script (edit.js) the same form opens inside the
    thread instead, and posts here all the same. Another person's message is a 403; a message whose edit
    window has closed goes back to the thread, saying so."""
    message = selectors.access_message(user=request.user, message_id=message_id)
    partner = message.partner_of(request.user)
    form = EditForm(request.POST or None, initial={"body": message.body})
    status = 200
    if request.method == "POST":
        status = 400
        if isinstance(refusal := services.edit_refusal(user=request.user, message=message), PermissionDenied):
            raise refusal  # before the rate limit: a refused edit does not count as one
        if form.is_valid() and _too_fast(request, form):
            status = 429
        elif form.is_valid():
            try:
                services.edit_message(user=request.user, message_id=message.pk, body=form.cleaned_data["body"])
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, "Message edited.")
                return redirect(_thread_url(partner.pk, message.pk))
    else:
        refusal = services.edit_refusal(user=request.user, message=message)
        if isinstance(refusal, ValidationError):
            messages.error(request, " ".join(refusal.messages))
            return redirect(_thread_url(partner.pk, message.pk))
        if refusal is not None:
            raise refusal
    context = {
        "form": form,
        "message": message,
        "other": partner,
        "closes_at": services.window_closes_at(message, settings.MESSAGING_EDIT_WINDOW_SECONDS),
    }
    return render(request, "messaging/edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@page
def report(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Report a message someone else sent to the moderators: a reason, then back to the thread."""
    message = selectors.access_message(user=request.user, message_id=message_id)
    partner = message.partner_of(request.user)
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _, created = services.report_message(
                    user=request.user, message_id=message.pk, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                form.add_error("reason", exc.messages)
            else:
                notice = "Thank you: the moderators will look at it." if created else "You already reported it."
                messages.success(request, notice)
                return redirect(_thread_url(partner.pk, message.pk))
        status = 400
    return render(request, "messaging/report.html", {"form": form, "message": message, "other": partner}, status=status)


@require_GET
@page
def attachment(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """The attachment as a download, with the same headers as the API."""
    message = selectors.access_message(user=request.user, message_id=message_id, with_attachment=True)
    return attachment_response(message)


Action = Callable[[User], str]  # does something to a person and answers the notice to show


def _switch(
    request: AuthenticatedHttpRequest, user_id: int, undo_action: str, do: Action, undo: Action
) -> HttpResponse:
    """Run `undo` when the form's `action` is `undo_action`, else `do`, each with the person and answering the
    notice to show; then back to the form's `next` if it is a path of this site (Settings' Unblock), else to
    their thread (to the inbox when the service refused, with its reason)."""
    other = selectors.get_user_or_404(user_id=user_id)
    back = _local_next(request)
    try:
        notice = (undo if request.POST.get("action") == undo_action else do)(other)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back or "messaging-web:inbox")
    messages.success(request, notice)
    return redirect(back or _thread_url(other.pk))


def _local_next(request: AuthenticatedHttpRequest) -> str | None:
    """The form's `next` if it is a path on this site (never another host, nor a scheme such as javascript:)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


@require_POST
@page
def mute(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """Mute (`action=mute`) or unmute (`action=unmute`) the conversation with a person, then back to it."""

    def do(other: User) -> str:
        services.mute_conversation(user=request.user, other_id=other.pk)
        return f"You muted {other.public_name}: their messages still arrive, but not in your badge."

    def undo(other: User) -> str:
        services.unmute_conversation(user=request.user, other_id=other.pk)
        return f"Your conversation with {other.public_name} is no longer muted."

    return _switch(request, user_id, "unmute", do, undo)


@require_POST
@page
def block(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    """Block (`action=block`) or unblock (`action=unblock`) a person, then back to their thread."""

    def do(other: User) -> str:
        services.block_user(user=request.user, blocked_id=other.pk)
        return f"You blocked {other.public_name}. They can no longer send you messages."

    def undo(other: User) -> str:
        services.unblock_user(user=request.user, blocked_id=other.pk)
        return f"You unblocked {other.public_name}."

    return _switch(request, user_id, "unblock", do, undo)


@require_GET
@login_required
def image(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """The attachment as an image shown inline (the thread's previews): only bytes sniffed as a raster image
    (`attachments.PREVIEW_IMAGE_TYPES`), else a 404; the same access rule as the download. No page CSP and no
    live cursor: the answer is an image, with a policy of its own (`sandbox`)."""
    message = selectors.access_message(user=request.user, message_id=message_id, with_attachment=True)
    return image_preview_response(message)


# --- Reading -----------------------------------------------------------------------------------------------

# live.js's background refresh of a page's live region sends this header: it shows what changed, and nobody
# has necessarily looked (a tab in the background); live.js marks the thread read itself while the page is
# visible and focused.
REFRESH_HEADER = "X-Relay-Refresh"


def _mark_read_when_opened(request: AuthenticatedHttpRequest, other: User, shown: list[Message]) -> None:
    """A thread page a person asked for (a GET, not live.js's refresh) marks what it shows read: the
    conversation, when the page shows an unread message from `other` (`services.mark_shown_read`)."""
    if request.method == "GET" and REFRESH_HEADER not in request.headers:
        services.mark_shown_read(user=request.user, other=other, shown=shown)


@require_POST
@page
def mark_unread(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    """Put a received message and every later one from its sender back to unread, then go to the inbox, where
    the conversation counts them again (staying on the thread would read them at once)."""
    message = selectors.access_message(user=request.user, message_id=message_id)
    partner = message.partner_of(request.user)
    try:
        services.mark_unread(user=request.user, message_id=message.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_thread_url(partner.pk, message.pk))
    messages.success(request, f"Marked unread: your conversation with {partner.public_name} counts it again.")
    return redirect("messaging-web:inbox")
