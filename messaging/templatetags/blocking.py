"""Template tags of messaging's parts of pages other apps own: the Settings page (users/) lists the people its
reader blocked. A tag, because `users` does not import `messaging` (the dependency arrows point one way)."""

from typing import Any

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("messaging/_blocked_people.html", takes_context=True)
def blocked_people_section(context: template.Context) -> dict[str, Any]:
    """The people the page's user blocked (`selectors.blocked_people`), each with an Unblock button that
    comes back to the page (`next`)."""
    request = context["request"]
    return {
        "blocked_people": list(selectors.blocked_people(user=request.user)),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
