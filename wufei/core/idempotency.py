"""Idempotent creates: a POST to the API with an `Idempotency-Key` header runs once per user and key.

The first request claims the key (a unique row); a retry with the same key gets
the stored answer replayed, a concurrent duplicate gets 409 while the first is
still running. A failed attempt (4xx/5xx) releases the key so the client may retry.
"""

import json

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils.translation import gettext as _

from wufei.core.tokens import user_for_token

API_PREFIX = "/api/"
IN_PROGRESS = 0


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()[:200]
        if request.method != "POST" or not key or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        user_id = _caller_id(request)
        if user_id is None:
            return self.get_response(request)
        from wufei.core.models import IdempotencyRecord

        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, method=request.method, path=request.path[:300],
                    status_code=IN_PROGRESS, response={})
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(user_id=user_id, key=key), request)
        response = self.get_response(request)
        if 200 <= response.status_code < 300 and response.get("Content-Type", "").startswith("application/json"):
            record.status_code = response.status_code
            record.response = json.loads(response.content or b"null")
            record.save(update_fields=["status_code", "response"])
        else:
            record.delete()
        return response


def _caller_id(request):
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        user = user_for_token(authorization[7:].strip())
        return user.pk if user else None
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _replay(record, request):
    if record.path != request.path[:300] or record.method != request.method:
        return JsonResponse({"code": "idempotency_key_reused",
                             "message": _("This Idempotency-Key was already used for another request")}, status=422)
    if record.status_code == IN_PROGRESS:
        return JsonResponse({"code": "idempotency_in_progress",
                             "message": _("A request with this Idempotency-Key is still being processed")}, status=409)
    response = JsonResponse(record.response, status=record.status_code, safe=False)
    response["Idempotent-Replayed"] = "true"
    return response
