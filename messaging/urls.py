"""/api/messages/*: every path answers with and without a trailing slash (no redirect)."""

from rest_framework.routers import SimpleRouter

from .views import MessageViewSet


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("messages", MessageViewSet, basename="message")

urlpatterns = router.urls
