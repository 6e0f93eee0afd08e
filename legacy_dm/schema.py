"""The legacy endpoints in the OpenAPI schema: deprecated operations, bearer auth, the old shapes."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from .serializers import DetailSerializer, ValidationErrorSerializer


class LegacyBearerScheme(SimpleJWTScheme):
    """The legacy views read the same simplejwt access tokens as the new API."""

    target_class = "legacy_dm.views.BearerAuthentication"
    name = "legacyBearerAuth"


PAGING = [
    OpenApiParameter("skip", OpenApiTypes.INT, description="rows to skip (>= 0, default 0)"),
    OpenApiParameter("limit", OpenApiTypes.INT, description="rows to return (1-100, default 50)"),
]


def legacy_schema(*, responses, request=None, paged=False, path=(), **kwargs):
    """`extend_schema` for a legacy operation: deprecated, with its old error shapes."""
    parameters = [OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH) for name in path]
    return extend_schema(
        deprecated=True,
        tags=["legacy"],
        request=request,
        parameters=parameters + (PAGING if paged else []),
        responses={**responses, 401: DetailSerializer, 404: DetailSerializer, 422: ValidationErrorSerializer},
        **kwargs,
    )
