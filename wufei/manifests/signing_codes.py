"""Gate signing codes (PINs): a unit's staff without an account sign a step on another party's phone by typing
their unit's code.

Rules as implemented
- A code has 6 to 8 digits and is not a run anyone tries first (all one digit, or digits counting up or down
  such as 123456 / 987654). Only the unit's administrators set it; it is stored hashed.
- Wrong codes count against the person who typed them (the signed-in account, whether by session or one of its
  API tokens), never against the unit: `manifest.signing_code_max_failures` (5) wrong codes on one manifest
  within `manifest.signing_code_lock_minutes` (15) refuse that person on that manifest until the oldest of them
  is that old; `manifest.signing_code_max_failures_per_day` (20) wrong codes of one unit over all manifests
  within 24 hours refuse that person the unit's code until the oldest is a day old. Anyone else, the unit's
  own staff included, still signs with the right code. The right code clears the person's count for the unit.
- Codes set before they had 6 digits are marked `needs_renewal`: a shorter code no longer signs (typing one is
  refused as too short, naming the unit), the unit's administrators see it on the signing code page and in
  their to-do list, and it stays marked until they set a new one or a 6-digit code is typed correctly.
"""

import datetime as dt

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import audit, parameters
from wufei.core.errors import PermissionDenied, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.manifests.models import Manifest, SigningCode, SigningCodeFailure
from wufei.registry.models import Organization

MIN_DIGITS, MAX_DIGITS = 6, 8
DAY = dt.timedelta(hours=24)


def is_run(code: str) -> bool:
    """All one digit, or each digit one more (or one less) than the one before: 111111, 123456, 876543."""
    steps = {int(b) - int(a) for a, b in zip(code, code[1:], strict=False)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def set_signing_code(*, scope: Scope, organization_id: int, code: str) -> None:
    organization = Organization.objects.filter(pk=organization_id).first() if organization_id else None
    if organization is None:
        raise ValidationFailed(_("organization not found"), errors=[{"field": "organization_id",
                                                                     "message": _("organization not found")}])
    if organization.pk not in scope.admin_organization_ids:
        raise PermissionDenied(_("only the organization's administrators can set its signing code"))
    code = (code or "").strip()
    if not code.isdigit() or not MIN_DIGITS <= len(code) <= MAX_DIGITS:
        raise ValidationFailed(_("a signing code is 6 to 8 digits"),
                               errors=[{"field": "code", "message": _("6 to 8 digits")}])
    if is_run(code):
        message = _("choose a code that is not one digit repeated or digits in a row (such as 123456)")
        raise ValidationFailed(message, errors=[{"field": "code", "message": message}])
    with transaction.atomic():
        SigningCode.objects.update_or_create(organization=organization,
                                             defaults={"digest": make_password(code), "needs_renewal": False})
        SigningCodeFailure.objects.filter(organization=organization).delete()
        audit.record(entity=organization, action="signing_code_set", payload={})


def signing_codes_to_renew(organization_ids) -> set[int]:
    """The units among these whose code was set before codes had 6 digits."""
    return set(SigningCode.objects.filter(organization_id__in=organization_ids, needs_renewal=True)
               .values_list("organization_id", flat=True))


def _refused_until(failures, limit: int, window: dt.timedelta) -> dt.datetime | None:
    """When a person with these failures (inside the window) may try again, or None when they may now."""
    times = sorted(failures.values_list("at", flat=True))
    if len(times) < limit:
        return None
    return times[len(times) - limit] + window


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return local.strftime("%H:%M") if local.date() == timezone.localtime(now).date() else local.strftime(
        "%Y-%m-%d %H:%M")


def verify_signing_code(*, organization: Organization, code, manifest: Manifest, user_id: int | None) -> None:
    """Check the code `user_id` typed for `organization` on `manifest`; a wrong one is recorded (and committed even
    though the signing itself is refused)."""
    code = str(code or "").strip()
    if not code.isdigit() or not MIN_DIGITS <= len(code) <= MAX_DIGITS:
        message = _("signing codes have 6 to 8 digits; if the code of %(name)s is shorter, it no longer works: its "
                    "administrators must set a new one (Transfer manifests › Signing code)") % {
                        "name": organization.name}
        raise ValidationFailed(message, code="signing_code_too_short",
                               errors=[{"field": "signing_code", "message": message}])
    if user_id is None:
        raise PermissionDenied(_("only a party of the manifest can collect a signing code"))
    now = timezone.now()
    region = organization.region_id
    per_manifest = max(1, int(parameters.get("manifest.signing_code_max_failures", region)))
    window = dt.timedelta(minutes=int(parameters.get("manifest.signing_code_lock_minutes", region)))
    per_day = max(1, int(parameters.get("manifest.signing_code_max_failures_per_day", region)))
    with transaction.atomic():
        stored = lock_rows(SigningCode.objects).filter(organization=organization).first()
        if stored is None:
            raise PermissionDenied(_("%(name)s has no signing code") % {"name": organization.name},
                                   code="signing_code_missing")
        mine = SigningCodeFailure.objects.filter(organization=organization, user_id=user_id)
        until = max(filter(None, [
            _refused_until(mine.filter(manifest=manifest, at__gt=now - window), per_manifest, window),
            _refused_until(mine.filter(at__gt=now - DAY), per_day, DAY)]), default=None)
        if until is not None:
            raise PermissionDenied(_("you have typed wrong signing codes of %(name)s too many times: you can try "
                                     "again after %(time)s (anyone else can still sign with the code)")
                                   % {"name": organization.name, "time": _when(until, now)},
                                   code="signing_code_locked")
        if check_password(code, stored.digest):
            mine.delete()
            if stored.needs_renewal:  # a code of 6 digits or more: it meets the rule
                stored.needs_renewal = False
                stored.save(update_fields=["needs_renewal", "updated_at"])
            return
        SigningCodeFailure.objects.create(organization=organization, manifest=manifest, user_id=user_id, at=now)
        SigningCodeFailure.objects.filter(organization=organization, at__lte=now - DAY).delete()
    raise PermissionDenied(_("wrong signing code for %(name)s") % {"name": organization.name},
                           code="signing_code_wrong")
