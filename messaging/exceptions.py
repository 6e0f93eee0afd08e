"""API error handling: DRF's shapes for everything a client can cause, never a 500."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from .services import AttachmentTooLarge


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def as_api_exception(exc):
    """The DRF exception for an error raised by a service, or `exc` itself."""
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return PayloadTooLarge()
    if isinstance(exc, AttachmentTooLarge):
        return PayloadTooLarge(str(exc))
    if isinstance(exc, DjangoValidationError):
        return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    return exc


def exception_handler(exc, context):
    """DRF's handler, plus the services' errors and Django's request-size errors in DRF's shapes."""
    return drf_exception_handler(as_api_exception(exc), context)
