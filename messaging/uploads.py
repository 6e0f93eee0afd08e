"""Multipart uploads stop at the attachment limit instead of being written out in full and refused afterwards."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class AttachmentLimitUploadHandler(FileUploadHandler):
    """First of `FILE_UPLOAD_HANDLERS`: refuses an upload (413) as soon as it is too large to be valid.

    Django does not count files against `DATA_UPLOAD_MAX_MEMORY_SIZE`, so without this a multipart request of
    any size would be read to the end, into memory or a temporary file, before the view refused it.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A request longer than the largest file plus the largest rest of a message cannot be valid.
        if (
            content_length
            and content_length > settings.MESSAGING_MAX_ATTACHMENT_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        ):
            raise RequestDataTooBig("The request body is too large.")
        return None

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.MESSAGING_MAX_ATTACHMENT_BYTES:
            limit = settings.MESSAGING_MAX_ATTACHMENT_BYTES
            raise RequestDataTooBig(f"The attachment is larger than the limit of {limit} bytes.")
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file
