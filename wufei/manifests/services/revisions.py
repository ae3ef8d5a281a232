"""After the fact: revisions of a signed manifest, follow-up manifests for stranded containers."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wufei.core.locks import lock_rows
from wufei.core.scope import Scope
from wufei.manifests import kinds, machine
from wufei.manifests.models import (
    Manifest,
    ManifestContainer,
    ManifestLine,
    Purpose,
    Revision,
    RevisionStatus,
)
from wufei.manifests.services.common import (
    LOADABLE,
    S,
    _current_leg,
    _locked,
    _method,
    _organization,
    _require_writer,
    _signed_parties,
    _site,
    _text,
    legs_of,
)
from wufei.manifests.services.drafts import _add_containers, _refresh_totals, _set_legs
from wufei.manifests.services.signing import _carried, _notify
from wufei.manifests.signing_codes import set_signing_code as set_signing_code  # re-exported: the service API
from wufei.manifests.signing_codes import signing_codes_to_renew as signing_codes_to_renew  # re-exported
from wufei.tracking.models import ContainerStatus


def _validate_changes(manifest: Manifest, changes: dict) -> dict:
    clean: dict = {}
    errors = []
    for field, value in changes.items():
        if field == "lines":
            positions = set(manifest.lines.values_list("position", flat=True))
            for position, line_changes in (value or {}).items():
                if int(position) not in positions:
                    errors.append({"field": f"lines.{position}", "message": _("no such line")})
                    continue
                for name, line_value in line_changes.items():
                    if f"line.{name}" not in machine.REVISABLE:
                        errors.append({"field": f"lines.{position}.{name}", "message": _("cannot be revised")})
                    elif name.endswith("method_id"):
                        _method(line_value, f"lines.{position}.{name}")
                clean.setdefault("lines", {})[str(position)] = line_changes
        elif field not in machine.REVISABLE:
            errors.append({"field": field, "message": _("cannot be revised: issue a new manifest")})
        elif field == "receiver_site_id":
            _site(manifest.receiver, value, field)
            clean[field] = value
        else:
            clean[field] = str(value or "")[:500]
    if errors:
        raise ValidationFailed(_("the revision is not valid"), errors=errors)
    return clean


@transaction.atomic
def request_revision(*, scope: Scope, manifest_id: int, version: int | None, reason: str, changes: dict | None = None,
                     cancel: bool = False) -> Revision:
    """Change sealed fields or cancel after pickup: the other signed parties approve."""
    manifest = _locked(scope, manifest_id, version)
    requester = next((o for o in (manifest.generator, manifest.receiver) if o.pk in scope.writable_organization_ids),
                     None)
    if requester is None:
        leg = manifest.legs.filter(transporter_id__in=scope.writable_organization_ids).first()
        requester = leg.transporter if leg else None
    if requester is None:
        raise PermissionDenied(_("only a party of the manifest can ask for a revision"))
    if manifest.status == S.DRAFT:
        raise Conflict(_("a draft is changed directly, not by revision"), code="not_signed_yet")
    if cancel and manifest.status != S.IN_TRANSIT:
        raise Conflict(_("only a manifest in transit is cancelled by revision; before pickup the generator "
                         "cancels it"), code="step_not_allowed")
    if manifest.status in (S.CANCELLED, S.REFUSED):
        raise Conflict(_("manifest %(number)s is %(status)s") % {"number": manifest, "status":
                                                                 S(manifest.status).label}, code="step_not_allowed")
    if manifest.revisions.filter(status=RevisionStatus.PENDING).exists():
        raise Conflict(_("a revision of this manifest is already waiting for approval"), code="revision_pending")
    reason = _text({"reason": reason}, "reason", 500)
    if not reason:
        raise ValidationFailed(_("give the reason for the revision"),
                               errors=[{"field": "reason", "message": _("is required")}])
    clean = _validate_changes(manifest, changes or {})
    if not clean and not cancel:
        raise ValidationFailed(_("the revision changes nothing"), errors=[{"field": "changes",
                                                                          "message": _("is empty")}])
    approvers = sorted(_signed_parties(manifest) - {requester.pk})
    revision = Revision.objects.create(manifest=manifest, requested_by=requester, changes=clean, cancel=cancel,
                                       reason=reason, approvers=approvers, approvals=[])
    if not approvers:
        _apply_revision(revision, manifest)
    manifest.save(audit_action="revision_requested", audit_note=reason)
    _notify(manifest, "revision_requested")
    return revision


@transaction.atomic
def decide_revision(*, scope: Scope, revision_id: int, approve: bool, comment: str = "") -> Revision:
    revision = Revision.objects.visible_to(scope).filter(pk=revision_id).first()
    if revision is None:
        raise NotFound(_("revision %(id)s not found") % {"id": revision_id})
    manifest = _locked(scope, revision.manifest_id, None)
    revision = lock_rows(Revision.objects).get(pk=revision.pk)
    if revision.status != RevisionStatus.PENDING:
        raise Conflict(_("the revision was already decided"), code="revision_decided")
    deciding = [pk for pk in revision.approvers if pk in scope.writable_organization_ids and
                pk not in revision.approvals]
    if not deciding:
        raise PermissionDenied(_("only the other signed parties approve a revision"))
    if not approve:
        revision.status, revision.decided_at = RevisionStatus.REJECTED, timezone.now()
        revision.save(audit_action="rejected", audit_note=comment[:300])
        return revision
    revision.approvals = sorted(set(revision.approvals) | set(deciding))
    if set(revision.approvals) >= set(revision.approvers):
        _apply_revision(revision, manifest)
    else:
        revision.save(audit_action="approved_by_party", audit_note=comment[:300])
    return revision


def _apply_revision(revision: Revision, manifest: Manifest) -> None:
    for field, value in revision.changes.items():
        if field == "lines":
            for position, line_changes in value.items():
                line = manifest.lines.get(position=int(position))
                for name, line_value in line_changes.items():
                    if name.endswith("method_id"):
                        setattr(line, name, _method(line_value, name).code if line_value else None)
                    elif name == "processed_on":
                        line.processed_on = dt.date.fromisoformat(line_value) if line_value else None
                    else:
                        setattr(line, name, str(line_value)[:200])
                line.save()
        else:
            setattr(manifest, field, value)
    if revision.cancel:
        manifest.status, manifest.cancelled_at, manifest.cancel_reason = S.CANCELLED, timezone.now(), revision.reason
    revision.status, revision.decided_at = RevisionStatus.APPROVED, timezone.now()
    revision.save(audit_action="applied")
    manifest.save(audit_action="revised", audit_note=revision.reason[:300])
    _notify(manifest, "revised")


def stranded_containers(manifest: Manifest) -> list[ManifestContainer]:
    """Containers a refusal or a cancellation in transit left with a carrier and no follow-up manifest yet."""
    if manifest.status == S.CANCELLED and manifest.picked_up_at is not None:
        entries = _carried(manifest)
    elif manifest.status in (S.REFUSED, S.RECEIVED, S.PROCESSED):
        entries = _carried(manifest, refused=True)
    else:
        return []
    followed = set(ManifestContainer.objects.filter(manifest__follows=manifest).exclude(
        manifest__status=S.CANCELLED).values_list("container_id", flat=True))
    return [entry for entry in entries if entry.container_id not in followed]


@transaction.atomic
def create_follow_up(*, scope: Scope, manifest_id: int, purpose: str, receiver_id: int | None = None,
                     legs: list[dict] = ()) -> Manifest:
    """A refused (or cancelled) load goes back to the generator or onward to another receiver, linked to the first."""
    source = _locked(scope, manifest_id, None)
    _require_writer(scope, source.generator, _("send a refused load back or onward"))
    if purpose not in (Purpose.RETURN, Purpose.ONWARD):
        raise ValidationFailed(_("a follow-up is a return or an onward transfer"),
                               errors=[{"field": "purpose", "message": str(purpose)}])
    entries = stranded_containers(source)
    general_refused = [line for line in source.lines.all() if line.refused_tonnes > 0] \
        if kinds.get(source.kind).typed_lines else []
    if not entries and not general_refused:
        raise Conflict(_("nothing of manifest %(number)s waits for a follow-up") % {"number": source},
                       code="nothing_to_follow_up")
    receiver = source.generator if purpose == Purpose.RETURN else _organization(receiver_id, "receiver_id")
    manifest = Manifest.objects.create(kind=source.kind, unit=source.unit, purpose=purpose, follows=source,
                                       generator=source.generator, receiver=receiver,
                                       emergency_measures=source.emergency_measures,
                                       created_by_id=scope.user_id)
    carrier = _current_leg(source) or (legs_of(source)[-1] if legs_of(source) else None)
    _set_legs(manifest, legs or ([{"transporter_id": carrier.transporter_id,
                                   "vehicle_id": carrier.vehicle_id, "driver_name": carrier.driver_name}]
                                 if carrier else []))
    if entries:
        holders = {entry.container.holder_id for entry in entries}
        _add_containers(scope, manifest, [entry.container.code for entry in entries], holders=holders,
                        statuses=LOADABLE | {ContainerStatus.HANDED_OVER})
    for position, line in enumerate(general_refused, start=1):
        ManifestLine.objects.create(manifest=manifest, position=position, general_code=line.general_code,
                                    waste_name=line.waste_name, physical_form=line.physical_form,
                                    shipped_tonnes=line.refused_tonnes, unit=line.unit,
                                    shipped_quantity=line.shipped_quantity)  # a typed line is refused whole
    _refresh_totals(manifest)
    manifest.save(audit_action="follow_up_drafted", audit_note=str(source))
    return manifest
