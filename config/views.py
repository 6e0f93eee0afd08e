"""Project-wide views: the API docs page, and error views (API paths answer in DRF's JSON shape)."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

API_PREFIX = "/api/"


def api_not_found() -> JsonResponse:
    """DRF's 404 shape, for API paths that reach no DRF view."""
    return JsonResponse({"detail": "Not found."}, status=404)


@csrf_exempt
def unknown_api_path(request, path=""):
    """Any path under /api/ that no endpoint matches (the last API URL pattern), with any method.

    A URL pattern rather than only `handler404`: with DEBUG on, Django answers an unmatched URL with its
    HTML debug page and never calls `handler404`. CSRF-exempt: there is no form to protect, and a POST
    without a token would otherwise be a 403 page instead of the 404.
    """
    return api_not_found()


def not_found(request, exception):
    """An `Http404` under /api/ outside DRF is a JSON 404 like every other API 404; elsewhere, the 404 page."""
    if request.path.startswith(API_PREFIX):
        return api_not_found()
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """A request Django refuses before any view (a suspicious operation) is a JSON 400 under /api/.

    On the pages, a request refused for its size (form fields past `DATA_UPLOAD_MAX_MEMORY_SIZE`) says why. A
    file over the attachment limit does not come here: `messaging.uploads` lets the page's form refuse it.
    """
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Bad request."}, status=400)
    detail = str(exception) if isinstance(exception, RequestDataTooBig) else ""
    return HttpResponseBadRequest(render_to_string("400.html", {"detail": detail}, request=request))


# Swagger UI's own stylesheet puts icons in data: URLs and its page template has an inline <style>; its
# scripts all come from this origin (drf-spectacular-sidecar, and the init script served as a file).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /docs without any inline script, under a CSP that allows only this origin."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response
