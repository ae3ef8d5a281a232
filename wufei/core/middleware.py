import json
import re
import uuid

from django.db import connection, transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from wufei.core import audit
from wufei.core.request_ids import REQUEST_ID, RequestIdFilter, current_request_id, log_context

__all__ = ["ActorMiddleware", "OneWriterMiddleware", "RefuseNulMiddleware", "RequestIdFilter", "RequestIdMiddleware",
           "current_request_id", "log_context"]


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
# (the id itself, the log filter and log_context live in wufei.core.request_ids, which logging loads before the
# apps; they stay importable from here)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{6,64}$")


class RequestIdMiddleware:
    """Give each request an id (a proxy's X-Request-ID when it is a plain token, else a new one), put it in the
    logs (RequestIdFilter) and on the response (X-Request-ID), and let the 500 page show it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _SAFE_ID.match(offered) else uuid.uuid4().hex[:16]
        request.request_id = request_id
        token = REQUEST_ID.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response["X-Request-ID"] = request_id
        return response


# --- NUL characters: no text the platform stores or looks up may hold one (PostgreSQL refuses them) ---------------

def _nul_in_json(value, path: str = "") -> str | None:
    """The dotted path of the first key or string in a JSON document that holds a NUL character, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return where
        found = _nul_in_json(item, where)
        if found is not None:
            return found
    return None


def _nul_in_request(request) -> str | None:
    """Where a NUL character is in what the request sends (path, query, cookies, headers, form or JSON body)."""
    if "\x00" in request.path:
        return "path"
    for source in (request.GET, request.COOKIES):
        for key, values in (source.lists() if hasattr(source, "lists") else ((k, [v]) for k, v in source.items())):
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "")
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return key[5:].replace("_", "-").title()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.POST.lists():  # form fields (uploaded files are bytes: not checked)
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "")
        return None
    if not (content_type.endswith("json") or content_type.startswith("text/")):
        return None  # binary bodies may hold any byte
    body = request.body
    if b"\x00" in body:
        return "body"
    if b"\\u0000" in body:
        try:
            return _nul_in_json(json.loads(body))
        except ValueError:
            return None  # not JSON: the API answers that
    return None


class RefuseNulMiddleware:
    """Refuse a request whose text holds a NUL character (U+0000), naming where: 422 in the API's error shape, 400
    for pages. PostgreSQL cannot store or compare such text, and no user types one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_in_request(request)
        if where is None:
            return self.get_response(request)
        message = _("contains a NUL character (U+0000), which text cannot hold")
        if request.path.startswith("/api/"):
            body = {"code": "validation_failed", "message": _("The request is not valid"),
                    "errors": [{"field": where, "message": message}]}
            return JsonResponse(body, status=422, json_dumps_params={"ensure_ascii": False})
        return HttpResponseBadRequest(f"{where}: {message}", content_type="text/plain; charset=utf-8")


class OneWriterMiddleware:
    """A request that may write (any method but GET, HEAD, OPTIONS) takes the audit chain's head first, in one
    transaction with the whole request, on a database with row locks (PostgreSQL).

    Every change appends to the one audit chain, so writers meet at its head anyway; a writer that first locked
    rows of its own (a manifest, a ledger mark) and then waited for the head could deadlock with one that held the
    head and wanted those rows. Taking the head first makes writers queue in arrival order instead, as SQLite's
    single writer does. A request that ends in a server error is rolled back whole.
    """

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in self.SAFE or not connection.features.has_select_for_update:
            return self.get_response(request)
        with transaction.atomic():
            audit.lock_chain()
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response
