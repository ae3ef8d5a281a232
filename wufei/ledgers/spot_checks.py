"""Regulators' spot checks (抽查核查) of submitted annual declarations.

Rules as implemented
- A regulator draws for one declared year and one region of its own (the only one it has, or the one it names):
  the pool is the submitted declarations of that year in the region's subtree not drawn yet; the sample size is
  ceil(pool × share %) and at least 1 when the pool is not empty (share: the parameter
  `declaration.spot_check_share_percent` unless given).
- The seed comes from the server (`secrets.token_hex`); the client cannot choose it. The draw is
  `random.Random(seed).sample(sorted pool ids, size)`, stored as a SpotCheckDraw with its seed, share, pool and
  sample, so anyone can redo it and get the same declarations.
- One draw per year and region: a further draw (late declarations, a sample found unusable) needs a reason. It
  draws only from what is not drawn yet (earlier checks stay), and it is written to the audit chain as
  "redrawn" with the reason. An empty pool draws nothing and records nothing.
"""

import math
import random
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.catalog import services as catalog
from wufei.core import parameters
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.parsing import decimal
from wufei.core.scope import Scope
from wufei.ledgers.models import AnnualDeclaration, DeclarationStatus, SpotCheck, SpotCheckDraw
from wufei.ledgers.plans import check_version, plain


def spot_checks_for(scope: Scope, *, year: int | None = None, outcome: str | None = None):
    checks = SpotCheck.objects.visible_to(scope).select_related("declaration", "declaration__organization",
                                                                "drawn_by")
    if year:
        checks = checks.filter(declaration__year=year)
    if outcome:
        if outcome not in SpotCheck.Outcome.values:
            raise ValidationFailed(_("unknown outcome"), errors=[{"field": "outcome", "message": outcome}])
        checks = checks.filter(outcome=outcome)
    return checks


def draws_for(scope: Scope, *, year: int | None = None, region: str | None = None):
    """The draws of the caller's regions (regulators and platform admins only)."""
    draws = SpotCheckDraw.objects.visible_to(scope).select_related("region", "drawn_by")
    if year:
        draws = draws.filter(year=year)
    if region:
        draws = draws.filter(region_id=region)
    return draws


def sample_size(pool: int, share_percent: Decimal) -> int:
    if pool <= 0:
        return 0
    return min(pool, max(1, math.ceil(Decimal(pool) * share_percent / 100)))


def choose_sample(ids, share_percent: Decimal, seed: str) -> list[int]:
    """The reproducible draw: the same ids, share and seed always give the same sample."""
    pool = sorted(ids)
    return sorted(random.Random(seed).sample(pool, sample_size(len(pool), share_percent)))


def draw_region(scope: Scope, code: str | None):
    """The region a regulator draws in: the one named (inside its own), or its only one."""
    code = (code or "").strip()
    if not code and len(scope.region_codes) == 1:
        code = scope.region_codes[0]
    if not code:
        message = _("choose the region to draw in")
        raise ValidationFailed(message, errors=[{"field": "region", "message": message}])
    try:
        region = catalog.get_region(code)
    except NotFound as exc:
        raise ValidationFailed(exc.message, errors=[{"field": "region", "message": exc.message}]) from exc
    if not scope.covers_region_path(region.path):
        raise PermissionDenied(_("%(region)s is not one of your regions") % {"region": region.name})
    return region


def spot_check_pool(scope: Scope, year: int, region=None):
    """Submitted declarations of the year in the caller's regions (or in one of them) not drawn yet."""
    pool = AnnualDeclaration.objects.filter(
        scope.region_q("organization__region__path"), year=year, status=DeclarationStatus.SUBMITTED,
    ).exclude(Exists(SpotCheck.objects.filter(declaration=OuterRef("pk"))))
    if region is not None:
        pool = pool.filter(organization__region__path__startswith=region.path)
    return pool


@transaction.atomic
def draw_spot_checks(*, scope: Scope, year: int, region: str | None = None, share_percent=None,
                     reason: str = "") -> list[SpotCheck]:
    if not scope.is_regulator:
        raise PermissionDenied(_("only regulators draw spot checks"))
    area = draw_region(scope, region)
    if share_percent is None or str(share_percent).strip() == "":
        share_percent = parameters.get("declaration.spot_check_share_percent", area.code)
    try:
        share = decimal(minimum=Decimal("0.01"), maximum=Decimal(100), places=2)(share_percent)
    except ValueError as exc:
        raise ValidationFailed(_("the draw is not valid"),
                               errors=[{"field": "share_percent", "message": str(exc)}]) from exc
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise ValidationFailed(_("the draw is not valid"), errors=[
            {"field": "reason", "message": _("is longer than %(n)d characters") % {"n": 500}}])
    earlier = list(lock_rows(SpotCheckDraw.objects).filter(year=year, region=area).order_by("sequence"))
    if earlier and not reason:
        last = earlier[-1]
        message = _("the %(year)s declarations of %(region)s were already drawn on %(date)s: a further draw needs "
                    "a reason, which is recorded") % {"year": year, "region": area.name,
                                                     "date": timezone.localtime(last.created_at).strftime("%Y-%m-%d")}
        raise RuleViolation(message, code="spot_check_already_drawn",
                            errors=[{"field": "reason", "message": _("give the reason for a further draw")}])
    pool = sorted(lock_rows(spot_check_pool(scope, year, area)).values_list("pk", flat=True))
    if not pool:
        return []
    seed = secrets.token_hex(16)
    chosen = choose_sample(pool, share, seed)
    draw = SpotCheckDraw(year=year, region=area, sequence=len(earlier) + 1, share_percent=share, seed=seed,
                         pool=pool, drawn=chosen, drawn_by_id=scope.user_id, reason=reason if earlier else "")
    try:
        with transaction.atomic():
            draw.save(audit_action="redrawn" if earlier else "drawn", audit_note=reason if earlier else "")
    except IntegrityError as exc:
        raise Conflict(_("someone else drew these declarations at the same moment: reload the page"),
                       code="spot_check_already_drawn") from exc
    checks = []
    for declaration_id in chosen:
        check = SpotCheck(declaration_id=declaration_id, draw=draw, drawn_by_id=scope.user_id, draw_seed=seed)
        check.save(audit_action="drawn", audit_note=f"draw {draw.pk}: seed {seed}, {plain(share)} % of {len(pool)}")
        checks.append(check)
    return checks


@transaction.atomic
def record_finding(*, scope: Scope, spot_check_id: int, version: int, outcome: str, findings: str = "") -> SpotCheck:
    check = spot_checks_for(scope).filter(pk=spot_check_id).first()
    if check is None:
        raise NotFound(_("spot check not found"))
    if not SpotCheck.objects.editable_by(scope).filter(pk=check.pk).exists():
        raise PermissionDenied(_("only a regulator of the unit's region can record findings"))
    check = lock_rows(SpotCheck.objects).get(pk=check.pk)
    check_version(check, version)
    errors = []
    if outcome not in (SpotCheck.Outcome.CONSISTENT, SpotCheck.Outcome.DISCREPANCY):
        errors.append({"field": "outcome", "message": _("must be consistent or discrepancy")})
    findings = (findings or "").strip()
    if outcome == SpotCheck.Outcome.DISCREPANCY and not findings:
        errors.append({"field": "findings", "message": _("describe the discrepancy found")})
    if errors:
        raise ValidationFailed(_("the finding is not valid"), errors=errors)
    check.outcome = outcome
    check.findings = findings
    check.save(audit_action="finding_recorded", audit_note=outcome)
    return check
