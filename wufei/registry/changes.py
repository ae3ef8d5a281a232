"""Change requests (变更申请): what decides how a unit is supervised changes only when its regulator agrees.

The unit's writers (admin, member) file a request for one field — the declared annual tonnes, the roles, the
region, an operating permit (a new one, or the replacement of one it holds, with its lines) or the kind of a
site (an own utilization / disposal facility makes the unit key-supervised) — with a reason and optional files.
The value in force does not move until the regulator of the unit's region approves: the change then goes
through the registry's own services with the regulator's scope (validation, class recomputed, audit chain
old → new, noting the request). The regulator may refuse with a reason; nothing changes then.
A unit has one pending request per field (per permit, per site); approving one whose value in force moved since
it was filed is refused (409 base_changed): the regulator refuses it and the unit files again.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wufei.core import files
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed, field_error
from wufei.core.locks import lock_rows
from wufei.core.parsing import clean
from wufei.core.scope import Scope
from wufei.registry import fields as field_specs
from wufei.registry import services
from wufei.registry.models import ChangeRequest, ChangeRequestAttachment, OperatingPermit, Organization, Site

Field, Status = ChangeRequest.Field, ChangeRequest.Status


# --- what each field means: its value in force, how a requested value is read, how it is applied ----------

def _invalid(errors: list[dict]):
    return ValidationFailed(_("the requested value is not valid"),
                            errors=[{**e, "field": "value" + (f".{e['field']}" if e.get("field") else "")}
                                    for e in errors])


def _organization_value(name: str) -> Callable:
    def parse(organization: Organization, value, target):
        values, errors = clean({name: field_specs.ORGANIZATION[name]}, {name: value})
        if not errors and name == "roles" and not values["roles"]:
            errors = [{"field": "", "message": _("at least one role is required")}]
        if not errors and name == "annual_hazardous_waste_tonnes" and values[name] is None:
            errors = [{"field": "", "message": _("is required")}]
        if errors:
            raise _invalid([{**e, "field": ""} for e in errors])
        return services.plain_supervised_value(name, values[name])

    return parse


def _organization_current(name: str) -> Callable:
    return lambda organization, target: services.supervised_value(organization, name)


def _apply_organization_value(name: str) -> Callable:
    def apply(scope: Scope, request: ChangeRequest, organization: Organization) -> None:
        services.update_organization(scope=scope, organization_id=organization.pk, data={name: request.value},
                                     version=organization.version,
                                     audit_note=_("change request %(id)s") % {"id": request.pk})

    return apply


def _permit_as_plain(values: dict, lines: list[dict]) -> dict:
    return {
        "number": values["number"], "kind": values["kind"], "issuing_authority": values.get("issuing_authority") or "",
        "valid_from": values["valid_from"].isoformat(), "valid_until": values["valid_until"].isoformat(),
        "lines": [{"waste": line["waste"].code, "annual_capacity_tonnes": services.plain_number(
                       line["annual_capacity_tonnes"]),
                   "methods": sorted(m.code for m in line.get("methods") or [])} for line in lines],
    }


def _parse_permit(organization: Organization, value, permit: OperatingPermit | None) -> dict:
    if not isinstance(value, dict):
        raise _invalid([{"field": "", "message": _("a permit with its lines is expected")}])
    data = {k: v for k, v in value.items() if k != "lines"}
    lines = value.get("lines") if isinstance(value.get("lines"), list) else []
    if not all(isinstance(line, dict) for line in lines):
        raise _invalid([{"field": "lines", "message": _("each line is an object: waste, annual capacity, methods")}])
    parsed, parsed_lines, errors = services.validate_permit({**data, "organization": organization.uscc}, lines,
                                                            existing=permit)
    if errors:
        raise _invalid(errors)
    return _permit_as_plain(parsed, parsed_lines)


def _permit_current(organization: Organization, permit: OperatingPermit | None):
    if permit is None:
        return None
    lines = [{"waste": line.waste or line.category, "annual_capacity_tonnes": line.annual_capacity_tonnes,
              "methods": list(line.methods.all())} for line in permit.lines.all()]
    values = {"number": permit.number, "kind": permit.kind, "issuing_authority": permit.issuing_authority,
              "valid_from": permit.valid_from, "valid_until": permit.valid_until}
    return _permit_as_plain(values, lines)


def _apply_permit(scope: Scope, request: ChangeRequest, organization: Organization) -> None:
    data = {k: v for k, v in request.value.items() if k != "lines"}
    data["organization"] = organization.uscc
    if request.permit_id is None:
        services.add_permit(scope=scope, data=data, lines=request.value["lines"])
    else:
        services.replace_permit(scope=scope, permit_id=request.permit_id, data=data, lines=request.value["lines"],
                                version=request.permit.version)


def _parse_site_kind(organization: Organization, value, site: Site | None) -> str:
    values, errors = clean({"kind": field_specs.SITE["kind"]}, {"kind": value})
    if errors:
        raise _invalid([{**e, "field": ""} for e in errors])
    return values["kind"]


def _apply_site_kind(scope: Scope, request: ChangeRequest, organization: Organization) -> None:
    services.update_site(scope=scope, site_id=request.site_id, data={"kind": request.value},
                         version=request.site.version, audit_note=_("change request %(id)s") % {"id": request.pk})


@dataclass(frozen=True)
class Requestable:
    parse: Callable  # (organization, raw value, target permit or site) -> plain JSON value; raises ValidationFailed
    current: Callable  # (organization, target) -> plain JSON value in force
    apply: Callable  # (regulator scope, request, organization) -> None
    target: str = ""  # "permit" (optional: none is a new permit) or "site" (required)


REQUESTABLE = {
    **{name: Requestable(_organization_value(name), _organization_current(name), _apply_organization_value(name))
       for name in services.SUPERVISED_FIELDS},
    Field.PERMIT.value: Requestable(_parse_permit, _permit_current, _apply_permit, target="permit"),
    Field.SITE_KIND.value: Requestable(_parse_site_kind, lambda organization, site: site.kind, _apply_site_kind,
                                       target="site"),
}


# --- selectors --------------------------------------------------------------------------------------------

def requests_for(scope: Scope, *, status: str | None = None, organization_id: int | None = None):
    rows = ChangeRequest.objects.visible_to(scope).select_related(
        "organization", "organization__region", "permit", "site", "filed_by", "decided_by").prefetch_related(
        "attachments")
    if status:
        rows = rows.filter(status=status)
    if organization_id:
        rows = rows.filter(organization_id=organization_id)
    return rows


def get_request(scope: Scope, request_id: int) -> ChangeRequest:
    row = requests_for(scope).filter(pk=request_id).first()
    if row is None:
        raise NotFound(_("change request not found"))
    return row


def may_file(scope: Scope, organization: Organization) -> bool:
    return (organization.pk in scope.writable_organization_ids and organization.is_active
            and not scope.covers_region_path(organization.region.path))


def may_decide(scope: Scope, organization: Organization) -> bool:
    return scope.covers_region_path(organization.region.path)


def current_value(request: ChangeRequest):
    """The value in force now of what the request would change."""
    return REQUESTABLE[request.field].current(request.organization, request.permit or request.site)


# --- writes -------------------------------------------------------------------------------------------------

@transaction.atomic
def file_request(*, scope: Scope, organization_id: int, field: str, value, reason: str,
                 permit_id: int | None = None, site_id: int | None = None) -> ChangeRequest:
    organization = services.get_organization(scope, organization_id, for_update=True)
    if organization.pk not in scope.writable_organization_ids:
        raise RuleViolation(_("the regulator changes these fields directly; change requests are filed by the unit"),
                            code="regulator_changes_directly")
    services.ensure_usable(organization)
    errors = []
    spec = REQUESTABLE.get(field)
    if spec is None:
        errors.append(field_error("field", _("%(field)s is not changed by request") % {"field": field}))
    if not (reason or "").strip():
        errors.append(field_error("reason", _("is required")))
    permit = site = None
    if spec is not None and spec.target == "permit" and permit_id is not None:
        permit = OperatingPermit.objects.filter(pk=permit_id, organization=organization).first()
        if permit is None:
            errors.append(field_error("permit", _("the unit holds no such permit")))
    if spec is not None and spec.target == "site":
        site = Site.objects.filter(pk=site_id, organization=organization).first() if site_id else None
        if site is None:
            errors.append(field_error("site", _("the unit has no such site")))
    if errors:
        raise ValidationFailed(_("the change request is not valid"), errors=errors)
    target = permit or site
    plain = spec.parse(organization, value, target)
    base = spec.current(organization, target)
    if plain == base:
        raise ValidationFailed(_("the requested value is the value in force"),
                               errors=[field_error("value", _("is the value in force"))])
    subject = field if not spec.target else f"{field}:{target.pk if target else 'new'}"
    if ChangeRequest.objects.filter(organization=organization, subject=subject, status=Status.PENDING).exists():
        raise Conflict(_("a request for this change is already waiting for the regulator"), code="request_pending")
    request = ChangeRequest(organization=organization, field=field, permit=permit, site=site, subject=subject,
                            value=plain, base_value=base, reason=reason.strip()[:500],
                            filed_by=get_user_model().objects.filter(pk=scope.user_id).first())
    try:
        with transaction.atomic():
            request.save(audit_action="filed")
    except IntegrityError as exc:  # another request for the same subject was filed meanwhile
        raise Conflict(_("a request for this change is already waiting for the regulator"),
                       code="request_pending") from exc
    return request


def _for_decision(scope: Scope, request_id: int, version: int) -> ChangeRequest:
    request = get_request(scope, request_id)
    if not may_decide(scope, request.organization):
        raise PermissionDenied(_("only the regulator of the unit's region decides its change requests"))
    locked = lock_rows(ChangeRequest.objects)  # permit and site are outer joins
    request = locked.select_related("organization", "permit", "site").get(pk=request.pk)
    services.check_version(request, version)
    if request.status != Status.PENDING:
        raise Conflict(_("this request was already decided"), code="already_decided")
    return request


def _decided(request: ChangeRequest, scope: Scope, status: str, reason: str) -> ChangeRequest:
    request.status, request.decided_at, request.decision_reason = status, timezone.now(), reason
    request.decided_by = get_user_model().objects.filter(pk=scope.user_id).first()
    request.save(audit_action=status, audit_note=reason)
    return request


@transaction.atomic
def approve(*, scope: Scope, request_id: int, version: int, reason: str = "") -> ChangeRequest:
    """Apply the requested value through the registry's services; refused if the value in force moved."""
    request = _for_decision(scope, request_id, version)
    organization = lock_rows(Organization.objects).get(pk=request.organization_id)
    request.organization = organization
    if current_value(request) != request.base_value:
        raise Conflict(_("the value in force changed since the request was filed; refuse it and ask the unit to "
                         "file a new one"), code="base_changed")
    REQUESTABLE[request.field].apply(scope, request, organization)
    return _decided(request, scope, Status.APPROVED, (reason or "").strip()[:500])


@transaction.atomic
def refuse(*, scope: Scope, request_id: int, version: int, reason: str) -> ChangeRequest:
    if not (reason or "").strip():
        raise ValidationFailed(_("a reason is required to refuse"), errors=[field_error("reason", _("is required"))])
    request = _for_decision(scope, request_id, version)
    return _decided(request, scope, Status.REFUSED, reason.strip()[:500])


@transaction.atomic
def add_attachment(*, scope: Scope, request_id: int, file) -> ChangeRequestAttachment:
    """A supporting file, added by the unit while its request waits."""
    request = get_request(scope, request_id)
    if request.organization_id not in scope.writable_organization_ids:
        raise PermissionDenied(_("files are added by the unit that filed the request"))
    if request.status != Status.PENDING:
        raise Conflict(_("this request was already decided"), code="already_decided")
    name, sha256 = files.checked_attachment(file)
    attachment = ChangeRequestAttachment(request=request, name=name, size=file.size, sha256=sha256,
                                         uploaded_by=get_user_model().objects.filter(pk=scope.user_id).first())
    attachment.file.save(name, file, save=False)
    attachment.save()
    request.save(audit_action="attachment_added",
                 audit_note=f"{name} {attachment.size} B sha256:{attachment.sha256}")
    return attachment
