"""Personal API tokens: `wf_<prefix>_<secret>`; only the SHA-256 digest is kept."""

import hashlib
import secrets

from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import audit
from wufei.core.errors import NotFound


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(*, user, name: str, expires_at=None):
    """Create a token; returns (ApiToken, plaintext). The plaintext is never stored."""
    from wufei.core.models import ApiToken

    prefix = secrets.token_hex(4)
    plaintext = f"wf_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, digest=digest_of(plaintext), expires_at=expires_at
    )
    audit.record(entity=token, action="token_issued", payload={"user_id": user.pk, "name": token.name,
                                                               "prefix": prefix, "expires_at": expires_at})
    return token, plaintext


def user_for_request_token(request, plaintext: str):
    """`user_for_token`, looked up once per request (the idempotency check and the API's auth both ask)."""
    known = getattr(request, "_wufei_token_user", None)
    if known is not None and known[0] == plaintext:
        return known[1]
    user = user_for_token(plaintext)
    request._wufei_token_user = (plaintext, user)
    return user


def user_for_token(plaintext: str):
    """The active user a presented token belongs to, or None."""
    from wufei.core.models import ApiToken

    if not plaintext or not plaintext.startswith("wf_"):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(plaintext)).first()
    now = timezone.now()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_token(*, user, token_id: int):
    from wufei.core.models import ApiToken

    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound(_("token not found"))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(entity=token, action="token_revoked", payload={"user_id": user.pk, "prefix": token.prefix})
