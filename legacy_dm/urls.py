"""The legacy endpoints, mounted under `/api/`: every path answers with and without a trailing slash.

Path ids are matched as any segment, so that a non-integer id gets the old service's 422 (`loc: ["path",
"message_id"]`) rather than an HTML 404; any other path under the legacy prefixes is the old service's JSON
404 (`{"detail": "Not Found"}`, with the deprecation headers), never the new API's `{"detail": "Not found."}`.
"""

from django.urls import re_path

from . import views

ID = r"(?P<{}>[^/]+)"

urlpatterns = [
    re_path(r"^direct-messages/?$", views.DirectMessagesView.as_view(), name="legacy-dm-list"),
    re_path(
        r"^direct-messages/conversations/?$",
        views.DirectMessageConversationsView.as_view(),
        name="legacy-dm-conversations",
    ),
    re_path(r"^direct-messages/unread-count/?$", views.UnreadCountView.as_view(), name="legacy-dm-unread-count"),
    re_path(
        rf"^direct-messages/conversation/{ID.format('user_id')}/read/?$",
        views.DirectMessageThreadReadView.as_view(),
        name="legacy-dm-thread-read",
    ),
    re_path(
        rf"^direct-messages/conversation/{ID.format('user_id')}/?$",
        views.DirectMessageThreadView.as_view(),
        name="legacy-dm-thread",
    ),
    re_path(
        rf"^direct-messages/{ID.format('message_id')}/read/?$",
        views.DirectMessageReadView.as_view(),
        name="legacy-dm-read",
    ),
    re_path(
        rf"^direct-messages/{ID.format('message_id')}/attachment/?$",
        views.DirectMessageAttachmentView.as_view(),
        name="legacy-dm-attachment",
    ),
    re_path(rf"^direct-messages/{ID.format('message_id')}/?$", views.DirectMessageView.as_view(), name="legacy-dm"),
    re_path(r"^messaging/conversations/?$", views.ConversationsView.as_view(), name="legacy-conversations"),
    re_path(
        rf"^messaging/conversations/{ID.format('conversation_id')}/messages/?$",
        views.ConversationMessagesView.as_view(),
        name="legacy-conversation-messages",
    ),
    re_path(
        rf"^messaging/conversations/{ID.format('conversation_id')}/read/?$",
        views.ConversationReadView.as_view(),
        name="legacy-conversation-read",
    ),
    re_path(
        rf"^messaging/conversations/{ID.format('conversation_id')}/?$",
        views.ConversationView.as_view(),
        name="legacy-conversation",
    ),
    # `[\s\S]`, not `.`: a path with an encoded newline (`/api/messaging/x%0A/y`) is under the prefixes too.
    re_path(
        r"^(?:direct-messages|messaging)(?:/[\s\S]*)?$", views.UnknownLegacyPathView.as_view(), name="legacy-unknown"
    ),
]
