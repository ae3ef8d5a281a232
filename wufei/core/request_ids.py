"""Request ids in the logs: one per request (RequestIdMiddleware sets it), a job's label inside a background job.

Below everything else in core: Django configures logging (this module's filter) before it loads the apps, so this
module imports no model, directly or not.
"""

import contextlib
import contextvars
import logging

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("wufei_request_id", default="-")


def current_request_id() -> str:
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record ("-" outside a request; the job id inside a background job)."""

    def filter(self, record):
        record.request_id = REQUEST_ID.get()
        return True


@contextlib.contextmanager
def log_context(label: str):
    """Label the log records written inside the block (a background job uses its job id)."""
    token = REQUEST_ID.set(label)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
