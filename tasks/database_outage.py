"""
A request the database can't serve right now gets a 503 that says so, with
Retry-After, not a 500: PostgreSQL restarting, say, or a dropped connection.
Reads of the task list keep coming from the cache meanwhile; a task the
visitor was adding is given back to them by tasks/views.py itself.
"""

import logging

from django.db import InterfaceError, OperationalError

from tasks.refusals import RETRY_SOON_SECONDS, refusal

logger = logging.getLogger(__name__)
# The database can't be reached: down, restarting, a dropped connection.
DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_DOWN):
            return None
        first_line = (str(exception).strip().splitlines() or [type(exception).__name__])[0]
        logger.error("The database can't be reached: %s", first_line)
        return refusal(
            request,
            503,
            "The database can't be reached",
            "Your last change may not have been saved. Please try again in a moment.",
            retry_after=RETRY_SOON_SECONDS,
        )
