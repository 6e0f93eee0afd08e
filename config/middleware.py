"""Response headers set project-wide, and the stricter policy of the inbox and login pages."""

from functools import wraps

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy (`CONTENT_SECURITY_POLICY`) on every HTML response without one.

    Pages may only load scripts, styles, images and fonts from this origin, post forms to it, and never be
    framed. A view that needs more (Swagger UI at /docs) or less (attachment downloads: `sandbox`) sets its
    own header, which is left alone. JSON and files are not documents and get none.

    Under DEBUG, an error answer that set no policy is Django's debug page (DEBUG replaces the 404, 400 and
    500 templates with it), whose styles and script are inline: it gets `DEBUG_ERROR_CONTENT_SECURITY_POLICY`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            if settings.DEBUG and response.status_code >= 400:
                response["Content-Security-Policy"] = settings.DEBUG_ERROR_CONTENT_SECURITY_POLICY
            else:
                response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response


def content_security_policy(view):
    """The pages' stricter CSP (`PAGES_CONTENT_SECURITY_POLICY`: no script at all) on a view's response,
    unless the view set its own (attachment downloads set `sandbox`)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.PAGES_CONTENT_SECURITY_POLICY
        return response

    return wrapped
