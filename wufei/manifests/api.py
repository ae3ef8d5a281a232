"""Manifests API: drafts, containers onto lines, signatures (one or many), revisions, follow-ups.

Thin: parse, call a service with the caller's scope, shape the answer.
"""

from decimal import Decimal

from django.db.models import DecimalField
from ninja import Router, Status

from wufei.core.api import page, scope_of
from wufei.core.inputs import Id, Since
from wufei.manifests import services
from wufei.manifests.schemas import (
    BulkResultOut,
    BulkSignIn,
    ContainersIn,
    DecisionIn,
    DraftChangesIn,
    FollowUpIn,
    LegChangesIn,
    ManifestDetailOut,
    ManifestIn,
    ManifestPage,
    MethodsIn,
    RevisionIn,
    RevisionOut,
    SignIn,
    SigningCodeIn,
)

router = Router(tags=["manifests"])


def _detail(scope, manifest_id: int, *, signed=None) -> dict:
    """The manifest as the API shows it: read again, or the manifest a signature just wrote (`signed`: its row
    as stored, its legs as the signature kept them)."""
    manifest = signed if signed is not None else services.get_manifest(scope, manifest_id)
    return {
        **{field.attname: _as_stored(field, getattr(manifest, field.attname))
           for field in manifest._meta.concrete_fields},
        "generator": manifest.generator, "receiver": manifest.receiver,
        "lines": list(manifest.lines.order_by("position")), "legs": services.legs_of(manifest),
        "signatures": list(manifest.signatures.all()), "revisions": list(manifest.revisions.all()),
        "next_steps": services.available_steps(scope, manifest), "overdue": services.is_overdue(manifest),
    }


def _as_stored(field, value):
    """A decimal as the database gives it back (to the field's places): 0.36 reads 0.360000."""
    if value is not None and isinstance(field, DecimalField):
        return Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


@router.get("/manifests", response=ManifestPage)
def list_manifests(request, status: str | None = None, kind: str | None = None, region: str | None = None,
                   organization: Id | None = None, overdue: bool | None = None, discrepancy: bool | None = None,
                   cross_province: bool | None = None, q: str | None = None, cursor: str | None = None,
                   limit: int = 50, updated_after: Since | None = None):
    """Manifests the caller is a party to (regulators: either end in their regions); `updated_after` for sync."""
    manifests = services.manifests_for(scope_of(request), status=status, kind=kind, region=region,
                                       organization=organization, overdue=overdue, discrepancy=discrepancy,
                                       cross_province=cross_province, q=q)
    items, next_cursor = page(manifests, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/manifests", response={201: ManifestDetailOut})
def create_manifest(request, payload: ManifestIn):
    """A draft from containers (hazardous, medical) or typed lines (general); send an Idempotency-Key."""
    scope = scope_of(request)
    data = payload.model_dump()
    data["legs"] = [leg for leg in data["legs"]]
    manifest = services.create_manifest(scope=scope, **data)
    return Status(201, _detail(scope, manifest.pk))


@router.post("/manifests/sign", response=list[BulkResultOut])
def bulk_sign(request, payload: BulkSignIn):
    """Sign one step of many manifests; each result says whether it was signed and why not."""
    return services.bulk_sign(scope=scope_of(request), step=payload.step,
                              items=[item.model_dump() for item in payload.items], data=payload.data,
                              signing_code=payload.signing_code)


@router.get("/manifests/by-number/{number}", response=ManifestDetailOut)
def get_by_number(request, number: str):
    scope = scope_of(request)
    return _detail(scope, services.get_by_number(scope, number).pk)


@router.get("/manifests/{manifest_id}", response=ManifestDetailOut)
def get_manifest(request, manifest_id: Id):
    return _detail(scope_of(request), manifest_id)


@router.patch("/manifests/{manifest_id}", response=ManifestDetailOut)
def update_draft(request, manifest_id: Id, payload: DraftChangesIn):
    scope = scope_of(request)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    services.update_draft(scope=scope, manifest_id=manifest_id, version=version, data=data)
    return _detail(scope, manifest_id)


@router.post("/manifests/{manifest_id}/containers", response=ManifestDetailOut)
def add_containers(request, manifest_id: Id, payload: ContainersIn):
    """Scan containers onto the draft: each brings its code, waste and weight."""
    scope = scope_of(request)
    services.add_containers(scope=scope, manifest_id=manifest_id, **payload.model_dump())
    return _detail(scope, manifest_id)


@router.post("/manifests/{manifest_id}/containers/remove", response=ManifestDetailOut)
def remove_containers(request, manifest_id: Id, payload: ContainersIn):
    scope = scope_of(request)
    services.remove_containers(scope=scope, manifest_id=manifest_id, version=payload.version, codes=payload.codes)
    return _detail(scope, manifest_id)


@router.post("/manifests/{manifest_id}/methods", response=ManifestDetailOut)
def set_planned_methods(request, manifest_id: Id, payload: MethodsIn):
    scope = scope_of(request)
    services.set_planned_methods(scope=scope, manifest_id=manifest_id, **payload.model_dump())
    return _detail(scope, manifest_id)


@router.post("/manifests/{manifest_id}/legs/{position}", response=ManifestDetailOut)
def update_leg(request, manifest_id: Id, position: Id, payload: LegChangesIn):
    """The carrier fills its leg (vehicle, driver, from / to) until it takes the load over."""
    scope = scope_of(request)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    services.update_leg(scope=scope, manifest_id=manifest_id, version=version, position=position, data=data)
    return _detail(scope, manifest_id)


@router.post("/manifests/{manifest_id}/sign", response=ManifestDetailOut)
def sign(request, manifest_id: Id, payload: SignIn):
    """Sign a step (submit, pickup, handover, receive, process, cancel); a stale version answers 409."""
    scope = scope_of(request)
    body = payload.model_dump(exclude={"data"})
    manifest = services.sign(scope=scope, manifest_id=manifest_id, data=payload.data.model_dump(exclude_unset=True),
                             **body)
    return _detail(scope, manifest_id, signed=manifest)


@router.post("/manifests/{manifest_id}/revisions", response={201: RevisionOut})
def request_revision(request, manifest_id: Id, payload: RevisionIn):
    """Change sealed fields, or cancel a load in transit; the other signed parties approve."""
    revision = services.request_revision(scope=scope_of(request), manifest_id=manifest_id, **payload.model_dump())
    return Status(201, revision)


@router.post("/revisions/{revision_id}/decision", response=RevisionOut)
def decide_revision(request, revision_id: Id, payload: DecisionIn):
    return services.decide_revision(scope=scope_of(request), revision_id=revision_id, **payload.model_dump())


@router.post("/manifests/{manifest_id}/follow-up", response={201: ManifestDetailOut})
def create_follow_up(request, manifest_id: Id, payload: FollowUpIn):
    """Send a refused (or cancelled) load back to its generator or onward, on a new manifest linked to this one."""
    scope = scope_of(request)
    manifest = services.create_follow_up(scope=scope, manifest_id=manifest_id, **payload.model_dump())
    return Status(201, _detail(scope, manifest.pk))


@router.post("/organizations/{organization_id}/signing-code", response={204: None})
def set_signing_code(request, organization_id: Id, payload: SigningCodeIn):
    """Set the organization's gate signing code (stored hashed; locked after repeated wrong entries)."""
    services.set_signing_code(scope=scope_of(request), organization_id=organization_id, code=payload.code)
    return Status(204, None)
