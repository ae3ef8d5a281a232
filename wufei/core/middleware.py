import contextlib
import contextvars
import logging
import re
import uuid

from wufei.core import audit


class ActorMiddleware:
    """Attribute audit events written while serving a request to the logged-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = audit.set_actor(user if user is not None and user.is_authenticated else None)
        try:
            return self.get_response(request)
        finally:
            audit.reset_actor(token)


# --- request ids: one per request, in every log record it writes and on the error page -------------------------

_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("wufei_request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{6,64}$")


def current_request_id() -> str:
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    """Give each request an id (a proxy's X-Request-ID when it is a plain token, else a new one), put it in the
    logs (RequestIdFilter) and on the response (X-Request-ID), and let the 500 page show it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _SAFE_ID.match(offered) else uuid.uuid4().hex[:16]
        request.request_id = request_id
        token = _REQUEST_ID.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _REQUEST_ID.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record ("-" outside a request; the job id inside a background job)."""

    def filter(self, record):
        record.request_id = _REQUEST_ID.get()
        return True


@contextlib.contextmanager
def log_context(label: str):
    """Label the log records written inside the block (a background job uses its job id)."""
    token = _REQUEST_ID.set(label)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)
