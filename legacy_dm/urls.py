"""The legacy endpoints, mounted under `/api/`: each at the old service's spelling of its path, declared here only.

A view's `path` (the name its calls are counted under, where the schema documents it, the ids its schema
lists) is read from `OLD_PATHS`. Every path answers with and without a trailing slash. A `{name}` in a
path matches any one segment, so that a non-integer id gets the old service's 422 (`loc: ["path",
"message_id"]`) rather than an HTML 404; any other path under the legacy prefixes is the old service's JSON
404 (`{"detail": "Not Found"}`, with the deprecation headers), never the new API's `{"detail": "Not found."}`.
"""

import re

from django.urls import URLPattern, re_path

from . import views

# The old service's paths, as it spelt them (`/api/direct-messages/` with its slash, the others without), and
# the views that answer them; in matching order (`conversations` and `unread-count` before `{message_id}`).
OLD_PATHS: dict[type[views.LegacyView], str] = {
    views.DirectMessagesView: "/api/direct-messages/",
    views.DirectMessageConversationsView: "/api/direct-messages/conversations",
    views.UnreadCountView: "/api/direct-messages/unread-count",
    views.DirectMessageThreadReadView: "/api/direct-messages/conversation/{user_id}/read",
    views.DirectMessageThreadView: "/api/direct-messages/conversation/{user_id}",
    views.DirectMessageReadView: "/api/direct-messages/{message_id}/read",
    views.DirectMessageAttachmentView: "/api/direct-messages/{message_id}/attachment",
    views.DirectMessageView: "/api/direct-messages/{message_id}",
    views.ConversationsView: "/api/messaging/conversations",
    views.ConversationMessagesView: "/api/messaging/conversations/{conversation_id}/messages",
    views.ConversationReadView: "/api/messaging/conversations/{conversation_id}/read",
    views.ConversationView: "/api/messaging/conversations/{conversation_id}",
}


def old_path(view: type[views.LegacyView], spelling: str) -> URLPattern:
    """The pattern of an old path under `/api/` (where `config.urls` mounts this module), with or without
    its trailing slash; a `{name}` is a path argument of any one segment."""
    route = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", spelling.removeprefix("/api/").rstrip("/"))
    return re_path(rf"^{route}/?$", view.as_view())


urlpatterns = [
    *(old_path(view, spelling) for view, spelling in OLD_PATHS.items()),
    # `[\s\S]`, not `.`: a path with an encoded newline (`/api/messaging/x%0A/y`) is under the prefixes too.
    re_path(r"^(?:direct-messages|messaging)(?:/[\s\S]*)?$", views.UnknownLegacyPathView.as_view()),
]
