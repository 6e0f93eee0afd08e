"""What every page's frame shows: the caller's badge count (unread outside muted conversations), in the nav and
the tab title."""

from django.utils.functional import SimpleLazyObject

from .. import selectors


def unread(request):
    """`nav_unread`: counted once, and only when a template shows it (the admin's pages don't)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_unread": SimpleLazyObject(lambda: selectors.unread_counts(user=user).badge)}
