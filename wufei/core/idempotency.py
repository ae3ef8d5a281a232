"""Idempotent creates: a POST to the API with an `Idempotency-Key` header runs once per user and key.

The request runs in one transaction with its key: the key's row is inserted first, the view runs, and the
answer (status and JSON body) is written into the row before the transaction commits. So the create and its
recorded answer commit together or not at all:

- a retry after the answer was lost (a crash after the commit, a dropped connection) gets the stored answer
  replayed (`Idempotent-Replayed: true`), never a second create;
- a request that crashed before the commit left nothing, neither the create nor the key: the retry runs it;
- a duplicate sent while the first is still running waits for it (the key's row is locked) and then gets its
  answer;
- the same key with a different request (another path, or another body) is refused: 422
  `idempotency_key_reused`;
- an error answer (4xx) keeps what the view deliberately committed but releases the key, so the client may
  correct the request and retry; a server error (5xx) rolls the whole request back and releases the key.

The body is compared through a fingerprint: SHA-256 over the JSON body in canonical form (key order and
spacing do not matter), or over the raw body; multipart uploads are fingerprinted by their length only (their
content is not read before the view checks permissions).

Records are kept IDEMPOTENCY_KEEP_HOURS (setting, 24 h); the periodic job `core.expire_idempotency` removes
older ones, and rows still "in progress" after STALE_AFTER (left by a version of Wufei that recorded the
answer after the commit).
"""

import contextlib
import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core.tokens import user_for_request_token

API_PREFIX = "/api/"
IN_PROGRESS = 0
STALE_AFTER = dt.timedelta(minutes=15)


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

        fingerprint = _fingerprint(request)
        with transaction.atomic():  # the create and its recorded answer commit together
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user_id=user_id, key=key, method=request.method, path=request.path[:300],
                        fingerprint=fingerprint, status_code=IN_PROGRESS, response={})
            except IntegrityError:
                return _replay(IdempotencyRecord.objects.get(user_id=user_id, key=key), request, fingerprint)
            response = self.get_response(request)
            if 200 <= response.status_code < 300 and response.get("Content-Type", "").startswith("application/json"):
                record.status_code = response.status_code
                record.response = json.loads(response.content or b"null")
                record.save(update_fields=["status_code", "response"])
            elif response.status_code >= 500:
                transaction.set_rollback(True)  # nothing of a failed request stays, its key included
            else:
                record.delete()
        return response


def _caller_id(request):
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        user = user_for_request_token(request, authorization[7:].strip())
        return user.pk if user else None
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _fingerprint(request) -> str:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        material = f"multipart:{request.META.get('CONTENT_LENGTH', '')}".encode()
    else:
        material = request.body
        if content_type == "application/json":
            with contextlib.suppress(ValueError):  # not JSON after all: the raw body
                material = json.dumps(json.loads(material or b"null"), sort_keys=True, separators=(",", ":"),
                                      ensure_ascii=False).encode()
    return hashlib.sha256(material).hexdigest()


def _replay(record, request, fingerprint: str):
    if record.path != request.path[:300] or record.method != request.method or (
            record.fingerprint and record.fingerprint != fingerprint):
        return JsonResponse({"code": "idempotency_key_reused",
                             "message": _("This Idempotency-Key was already used for a different request (another "
                                          "address or another body): use a new key for a new request")}, status=422)
    if record.status_code == IN_PROGRESS:
        return JsonResponse({"code": "idempotency_in_progress",
                             "message": _("A request with this Idempotency-Key is still being processed")}, status=409)
    response = JsonResponse(record.response, status=record.status_code, safe=False)
    response["Idempotent-Replayed"] = "true"
    return response


def expire(*, now=None) -> int:
    """Forget answers older than settings.IDEMPOTENCY_KEEP_HOURS and keys stuck in progress; how many."""
    from wufei.core.models import IdempotencyRecord

    now = now or timezone.now()
    keep = dt.timedelta(hours=getattr(settings, "IDEMPOTENCY_KEEP_HOURS", 24))
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - keep).delete()
    stuck, _ = IdempotencyRecord.objects.filter(status_code=IN_PROGRESS, created_at__lt=now - STALE_AFTER).delete()
    return deleted + stuck
