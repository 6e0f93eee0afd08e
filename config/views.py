"""Project-wide error views: API paths answer in DRF's JSON shape, pages keep Django's HTML ones."""

from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def not_found(request, exception):
    """An unknown URL under /api/ (e.g. `/api/messages/abc`) is a JSON 404 like every other API 404."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """A request Django refuses before any view (a suspicious operation) is a JSON 400 under /api/."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)
