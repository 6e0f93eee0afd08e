"""The missed-message email's unsubscribe link: no login, the signed token in the link is the authority.

`GET` shows a page with one button and changes nothing: mail scanners and link previews open links, and must
not turn anyone's mail off (RFC 8058). `POST` turns it off: that button, or the mail client's own one-click
unsubscribe (the `List-Unsubscribe-Post: List-Unsubscribe=One-Click` header: the client POSTs to the link,
without a CSRF token, hence `csrf_exempt`; the token, not a session, says whose mail it is).
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.middleware import content_security_policy

from .. import notifications


@csrf_exempt
@require_http_methods(["GET", "POST"])
@content_security_policy
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user = notifications.user_for_unsubscribe_token(token)
    if user is None:
        detail = "This unsubscribe link is not valid. Turn the emails off in your settings instead."
        return render(request, "400.html", {"detail": detail}, status=400)
    done = request.method == "POST"
    if done:
        notifications.unsubscribe(user=user)
    return render(request, "messaging/unsubscribe.html", {"subscriber": user, "done": done, "token": token})
