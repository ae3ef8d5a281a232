"""What every manifest service shares: the status constants, the locked read of a manifest with the version the
caller saw, the parties and their steps, field parsing.
"""

from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _

from wufei.catalog.models import Region, TreatmentMethod
from wufei.core import parsing
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.manifests import machine
from wufei.manifests.models import (
    Manifest,
    ManifestStatus,
    TransportLeg,
)
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.registry.models import OperatingPermit, Organization, Site
from wufei.tracking.models import ContainerStatus

S = ManifestStatus


TONNE = Decimal("0.000001")


# Manifest.discrepancy_percent holds 6 integer digits: a weighbridge figure ten thousand times what was shipped is
# recorded as this (and flagged), not as a database error.
MAX_DISCREPANCY_PERCENT = Decimal("999999.999")


LOADABLE = frozenset({ContainerStatus.STORED, ContainerStatus.CODED, ContainerStatus.WEIGHED,
                      ContainerStatus.RECEIVED})


RESERVING = (S.DRAFT, S.SUBMITTED, S.IN_TRANSIT)  # a container on one of these is not free for another


COLLECTION_PERMITS = (OperatingPermit.Kind.COLLECTION, OperatingPermit.Kind.SMALL_VOLUME_COLLECTION,
                      OperatingPermit.Kind.COMPREHENSIVE)


NO_PROCESSING = tuple(machine.STEPS["process"].not_for)  # these end at receipt


def _region_path(code: str) -> str:
    return Region.objects.filter(code=code).values_list("path", flat=True).first() or f"/{code}/"


def get_manifest(scope: Scope, manifest_id: int) -> Manifest:
    manifest = (Manifest.objects.visible_to(scope).select_related("generator__region", "receiver__region",
                                                                   "generator_site", "receiver_site", "application")
                .filter(pk=manifest_id).first())
    if manifest is None:
        raise NotFound(_("manifest %(id)s not found") % {"id": manifest_id})
    return manifest


def get_by_number(scope: Scope, number: str) -> Manifest:
    manifest = Manifest.objects.visible_to(scope).filter(number=number.strip()).first()
    if manifest is None:
        raise NotFound(_("manifest %(id)s not found") % {"id": number})
    return manifest


def legs_of(manifest: Manifest) -> list[TransportLeg]:
    """The legs in order, with their carriers and vehicles; those `keep_legs` loaded when it did."""
    kept = getattr(manifest, "_prefetched_objects_cache", {}).get("legs")
    if kept is not None:
        return list(kept)
    return list(manifest.legs.select_related("transporter", "vehicle").order_by("position"))


def keep_legs(manifest: Manifest) -> list[TransportLeg]:
    """Load the legs once for the rest of a change (`legs_of`, `parties` and the answer use them): for a change
    that edits legs in place (a signature), not one that adds or deletes them."""
    prefetch_related_objects([manifest], Prefetch("legs", queryset=TransportLeg.objects.select_related(
        "transporter", "vehicle").order_by("position")))
    return legs_of(manifest)


def parties(manifest: Manifest) -> dict[str, set[int]]:
    return {"generator": {manifest.generator_id}, "receiver": {manifest.receiver_id},
            "transporter": {leg.transporter_id for leg in manifest.legs.all()}}


def roles_of(scope: Scope, manifest: Manifest) -> set[str]:
    """The parties the caller acts for on this manifest."""
    return {role for role, ids in parties(manifest).items() if ids & scope.organization_ids}


def available_steps(scope: Scope, manifest: Manifest) -> list[str]:
    """Steps the caller could sign now (for pages' buttons); the services still check everything."""
    steps = []
    for name in machine.next_steps(manifest.status):
        organization = party_for_step(manifest, name, quiet=True)
        if organization is not None and organization.pk in scope.organization_ids \
                and machine.refusal(name, manifest.status, manifest.purpose) is None:
            steps.append(name)
    return steps


def _organization(value, field: str) -> Organization:
    organization = Organization.objects.select_related("region").filter(pk=value).first() if value else None
    if organization is None:
        raise ValidationFailed(_("organization not found"), errors=[{"field": field,
                                                                     "message": _("organization not found")}])
    return organization


def _site(organization: Organization, site_id, field: str) -> Site | None:
    if site_id in (None, ""):
        return None
    site = Site.objects.filter(pk=site_id, organization=organization).first()
    if site is None:
        message = _("is not a site of %(unit)s") % {"unit": organization.name}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return site


def _text(data: dict, field: str, limit: int) -> str:
    value = (data.get(field) or "").strip()
    if len(value) > limit:
        message = _("at most %(n)s characters") % {"n": limit}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return value


def _require_writer(scope: Scope, organization: Organization, what: str) -> None:
    if organization.pk not in scope.writable_organization_ids:  # the name is not told to outsiders
        raise PermissionDenied(_("only the organization's members can %(what)s") % {"what": what})


def _method(code, field: str) -> TreatmentMethod | None:
    if code in (None, ""):
        return None
    method = TreatmentMethod.objects.filter(code=str(code).strip().upper()).first()
    if method is None:
        message = _("%(code)s is not a method code") % {"code": code}
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return method


def _locked(scope: Scope, manifest_id: int, version: int | None) -> Manifest:
    """The manifest locked for a change, if the caller can see it (404 otherwise), at the version it saw (409)."""
    manifest = (lock_rows(Manifest.objects.visible_to(scope)).select_related("generator__region", "receiver__region")
                .filter(pk=manifest_id).first())
    if manifest is None:
        raise NotFound(_("manifest %(id)s not found") % {"id": manifest_id})
    if version is not None and int(version) != manifest.version:
        raise Conflict(_("manifest %(number)s was changed by someone else (version %(now)s, you sent %(sent)s); "
                         "reload it") % {"number": manifest, "now": manifest.version, "sent": version},
                       code="stale_version")
    return manifest


def signed_steps(manifest: Manifest) -> set[str]:
    return set(manifest.signatures.values_list("step", flat=True))


def check_open(manifest: Manifest, fields, *, leg: TransportLeg | None = None) -> None:
    """Refuse a change to a field that its sealing signature has locked (machine.FIELDS)."""
    signed = signed_steps(manifest)
    for field in fields:
        step = machine.sealed_by(field)
        locked = leg is not None and leg.taken_at is not None if field.startswith("leg.") else step in signed
        if locked or manifest.status in machine.FINAL:
            raise Conflict(_("%(field)s of manifest %(number)s was sealed by the '%(step)s' signature; ask for a "
                             "revision") % {"field": field, "number": manifest, "step": step},
                           code="section_sealed")


def _check_required(manifest: Manifest, step: str, leg: TransportLeg | None) -> None:
    """After a step: every field the table says the step requires is filled."""
    missing = []
    for field in machine.required_for(step, manifest):
        if field == "legs":
            filled = bool(legs_of(manifest))
        elif field == "lines":
            filled = manifest.lines.exists()
        elif field.startswith("leg."):
            filled = leg is None or getattr(leg, field[4:]) not in (None, "")
        elif field.startswith("line."):
            filled = all(getattr(line, field[5:]) not in (None, "")
                         for line in manifest.lines.filter(accepted_tonnes__gt=0))
        else:
            filled = getattr(manifest, field) not in (None, "")
        if not filled:
            missing.append(field)
    if missing:
        raise RuleViolation(_("'%(step)s' needs %(fields)s") % {"step": step, "fields": ", ".join(missing)},
                            code="field_missing", errors=[{"field": f, "message": _("is required")}
                                                          for f in missing])


def _plain(value) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def party_for_step(manifest: Manifest, step: str, *, quiet: bool = False) -> Organization | None:
    party = machine.STEPS[step].party
    if party == "generator":
        return manifest.generator
    if party == "receiver":
        return manifest.receiver
    leg = leg_for_step(manifest, step)
    if leg is None:
        if quiet:
            return None
        raise Conflict(_("no carrier is waiting to take the load over"), code="no_next_leg")
    return leg.transporter


def leg_for_step(manifest: Manifest, step: str) -> TransportLeg | None:
    legs = legs_of(manifest)
    if step == "pickup":
        return legs[0] if legs else None
    waiting = [leg for leg in legs if leg.taken_at is None]
    return waiting[0] if waiting else None


def _current_leg(manifest: Manifest) -> TransportLeg | None:
    taken = [leg for leg in legs_of(manifest) if leg.taken_at is not None and leg.handed_at is None]
    return taken[-1] if taken else None


def _decimal(value, field: str, *, allow_zero: bool = True) -> Decimal:
    try:
        number = parsing.tonnes(minimum=Decimal(0) if allow_zero else TONNE)(value)
    except ValueError:
        number = None
    if number is None:
        message = _("a quantity in tonnes") if allow_zero else _("a quantity in tonnes above zero")
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    return number


def _signed_parties(manifest: Manifest) -> set[int]:
    return set(manifest.signatures.exclude(step="cancel").values_list("organization_id", flat=True))
