"""/api/messages/* and /api/users/{id}/block: every path answers with and without a trailing slash (no redirect)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .stream import events
from .views import BlockView, MessageViewSet


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("messages", MessageViewSet, basename="message")

urlpatterns = [
    re_path(r"^messages/events/?$", events, name="message-events"),  # before the router's messages/{id}
    *router.urls,
    re_path(r"^users/(?P<user_id>\d+)/block/?$", BlockView.as_view(), name="user-block"),
]
