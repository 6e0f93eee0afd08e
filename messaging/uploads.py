"""Multipart uploads keep no byte of a file over the attachment limit, and let each surface say so its own way.

A file over `MESSAGING_MAX_ATTACHMENT_BYTES` is counted to its end but none of it past the limit is kept: it
reaches the request as a `RefusedUpload` (its name, type and size, no bytes), and the size check every surface
already makes (`services.check_attachment_size`) refuses it: the API answers 413, the pages show their form
again with the error at the file and the typed message kept. Raising while the request is parsed would not
allow that: the CSRF check reads the form before any view runs, so the exception became Django's 400 page (its
debug page under DEBUG) and the draft was lost.
"""

from io import BytesIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from config.views import API_PREFIX

from .services import AttachmentTooLarge

ATTACHMENT_FIELD = "attachment"  # the file part of a message: the API's multipart send and the pages' forms


class RefusedUpload(UploadedFile):
    """A file over the attachment limit, as far as it was read: name, claimed type and size, and no content.

    Reading it raises `AttachmentTooLarge`, so a surface that forgot the size check still cannot send it empty.
    """

    def __init__(self, *, name: str, content_type: str, size: int, charset: str | None):
        super().__init__(BytesIO(), name, content_type, size, charset)

    def read(self, *args, **kwargs):
        raise AttachmentTooLarge(self.size)

    def chunks(self, chunk_size=None):
        raise AttachmentTooLarge(self.size)


class AttachmentLimitUploadHandler(FileUploadHandler):
    """First of `FILE_UPLOAD_HANDLERS`: no handler after it receives a byte of a file past the limit.

    Django does not count files against `DATA_UPLOAD_MAX_MEMORY_SIZE`, so without this a multipart file of any
    size would be kept in full, in memory or a temporary file, before the view refused it.
    """

    kept = 0  # bytes of the request's files passed on to the next handler

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.kept = 0
        # An API client is told at once that a request this long cannot hold a valid message (413), before a
        # byte of it is read. A page's form is read to its end instead (its files discarded past the limit):
        # the text typed beside the file comes back in the form, and a browser shows an answer only once it
        # has sent its whole request.
        if (
            content_length
            and content_length > settings.MESSAGING_MAX_ATTACHMENT_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            and (self.request is None or self.request.path.startswith(API_PREFIX))
        ):
            raise RequestDataTooBig("The request body is too large.")
        return None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        # Only a message's file is kept: a part under any other name is counted and dropped like one too large.
        self.too_large = field_name != ATTACHMENT_FIELD

    def receive_data_chunk(self, raw_data, start):
        # The limit holds for the request's files together, not for each: a request of many file parts keeps
        # no more than one attachment's worth.
        if not self.too_large and self.kept + len(raw_data) > settings.MESSAGING_MAX_ATTACHMENT_BYTES:
            self.too_large = True
        if self.too_large:
            return None
        self.kept += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        if self.too_large:  # the parser keeps this and asks no later handler (which holds the first bytes)
            return RefusedUpload(
                name=self.file_name or "", content_type=self.content_type or "", size=file_size, charset=self.charset
            )
        return None  # the next handler (memory or temporary file) keeps the file
