"""The JSON API: one NinjaAPI under /api/v1, session or bearer-token auth, stable error bodies."""

import base64

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, django_auth

from wufei.core import audit
from wufei.core.errors import PermissionDenied, ValidationFailed, WufeiError
from wufei.core.openapi import document_errors
from wufei.core.scope import request_scope
from wufei.core.tokens import user_for_request_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer wf_…` with a personal API token."""

    def authenticate(self, request, token):
        user = user_for_request_token(request, token)
        if user is None:
            return None
        request.user = user
        request._wufei_scope = None
        request.wufei_by_token = True
        audit.set_actor(user)
        return user


session_or_token = [TokenAuth(), django_auth]


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese text as UTF-8, not \\u escapes (readable in logs and curl)."""

    json_dumps_params = {"ensure_ascii": False}


class WufeiAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema)


api = WufeiAPI(
    title="Wufei API",
    version="1",
    description="Solid and hazardous waste supervision (无废城市). Errors: {code, message, errors}.",
    auth=session_or_token,
    renderer=Utf8JSONRenderer(),
    urls_namespace="api",
)


def _error(request, status: int, body: dict):
    return api.create_response(request, body, status=status)


@api.exception_handler(WufeiError)
def _wufei_error(request, exc: WufeiError):
    return _error(request, exc.status, exc.as_dict())


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = []
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        errors.append({"field": ".".join(loc), "message": item.get("msg", "invalid")})
    body = {"code": "validation_failed", "message": _("The request is not valid"), "errors": errors}
    return _error(request, 422, body)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, {"code": "not_found", "message": str(exc) or _("Not found")})


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, 401, {"code": "not_authenticated", "message": _("Log in or send a valid API token")})


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, {"code": "http_error", "message": str(exc)})


def scope_of(request):
    return request_scope(request)


def require_password_login(request) -> None:
    """Refuse a request authenticated by an API token: tokens are created and revoked only by a user who signed
    in with the password, so a leaked token cannot mint its own successor or revoke its owner's other tokens."""
    if getattr(request, "wufei_by_token", False):
        raise PermissionDenied(_("an API token cannot create or revoke API tokens: sign in with your password "
                                 "to manage them"), code="session_required")


# --- cursor pagination -------------------------------------------------------------------

def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        errors = [{"field": "cursor", "message": _("malformed")}]
        raise ValidationFailed(_("cursor is not valid"), errors=errors) from exc


def page(queryset, *, cursor: str | None, limit: int, updated_after=None) -> tuple[list, str | None]:
    """Keyset page over ascending ids: (items, next_cursor)."""
    limit = max(1, min(limit, 500))
    if updated_after is not None:
        queryset = queryset.filter(updated_at__gt=updated_after)
    items = list(queryset.filter(pk__gt=decode_cursor(cursor)).order_by("pk")[: limit + 1])
    if len(items) > limit:
        items = items[:limit]
        return items, encode_cursor(items[-1].pk)
    return items, None
