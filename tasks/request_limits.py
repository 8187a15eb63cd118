"""
Refuse a request body this app never needs, before anything reads it.

Django writes a multipart upload over 2.5 MB to a temporary file as soon as
anything reads request.POST, and the CSRF check does, for every POST: an
unauthenticated 30 MB upload went to disk, then got its 403.
DATA_UPLOAD_MAX_MEMORY_SIZE does not count file data. Nothing here takes a
file, and the largest form (the admin's) is a few kilobytes. So a body
declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 from this
middleware, ahead of the session, CSRF and every view, without a byte of
it read; and settings keep whatever multipart body is smaller in memory
(FILE_UPLOAD_HANDLERS), never on disk. A body without a Content-Length
(chunked) is never read by Django at all.
"""

from django.conf import settings

from tasks.refusals import refusal


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # as Django reads it: no body
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return too_large(request)
        return self.get_response(request)


def too_large(request):
    limit_kib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    # gunicorn reads and drops the rest of the body before the connection's
    # next request, if the client sends it: memory and disk are never used.
    return refusal(
        request,
        413,
        "That request is too large",
        f"This site takes requests of at most {limit_kib} KiB, and no file uploads. Nothing was saved.",
    )
