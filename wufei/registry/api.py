"""Registry API: organizations (一企一档), sites, vehicles, permits, members, tokens, imports, exports.

Thin: parse, call a service with the caller's scope, shape the answer.
"""


from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from wufei.core import import_jobs, spreadsheets
from wufei.core.api import page, require_password_login, scope_of
from wufei.core.errors import ValidationFailed
from wufei.core.inputs import Id, Since
from wufei.core.models import Job
from wufei.core.tokens import issue_token, revoke_token
from wufei.registry import exports, imports, services
from wufei.registry.changes_api import router as changes_router
from wufei.registry.schemas import (
    CloseIn,
    MemberIn,
    MemberOut,
    MeOut,
    OrganizationFileOut,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    PermitIn,
    PermitOut,
    SiteIn,
    SiteOut,
    SitePatch,
    SupervisionOverrideIn,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    VehicleIn,
    VehicleOut,
)

router = Router(tags=["registry"])
router.add_router("", changes_router)


def _out(schema, obj) -> dict:
    return schema.from_orm(obj).model_dump(mode="json")


# --- the caller ----------------------------------------------------------------------------

@router.get("/me", response=MeOut, tags=["accounts"])
def me(request):
    scope = scope_of(request)
    return {"username": scope.username, "organizations": sorted(scope.organization_ids),
            "regions": list(scope.region_codes), "departments": sorted(scope.department_ids),
            "is_platform_admin": scope.is_platform_admin}


@router.get("/tokens", response=list[TokenOut], tags=["accounts"])
def list_tokens(request):
    return request.user.api_tokens.order_by("-created_at")


@router.post("/tokens", response={201: TokenCreatedOut}, tags=["accounts"])
def create_token(request, payload: TokenIn):
    """Create a personal API token (signed in with the password only: a token cannot create tokens)."""
    require_password_login(request)
    token, plaintext = issue_token(user=request.user, name=payload.name, expires_at=payload.expires_at)
    return Status(201, {**_out(TokenOut, token), "token": plaintext})


@router.delete("/tokens/{token_id}", response={204: None}, tags=["accounts"])
def delete_token(request, token_id: Id):
    """Revoke one of the caller's tokens (signed in with the password only)."""
    require_password_login(request)
    revoke_token(user=request.user, token_id=token_id)
    return Status(204, None)


# --- organizations ------------------------------------------------------------------------

@router.get("/organizations", response=OrganizationPage)
def list_organizations(request, q: str | None = None, role: str | None = None, region: str | None = None,
                       status: str | None = None, supervision_class: str | None = None, cursor: str | None = None,
                       limit: int = 50, updated_after: Since | None = None):
    organizations = services.organizations_for(scope_of(request), q=q, role=role, region=region, status=status,
                                               supervision_class=supervision_class)
    items, next_cursor = page(organizations, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/organizations", response={201: OrganizationOut})
def create_organization(request, payload: OrganizationIn):
    organization = services.create_organization(scope=scope_of(request), data=payload.model_dump())
    return Status(201, organization)


@router.get("/exports/{kind}")
def export_file(request, kind: str):
    """Organizations, sites, vehicles or permits the caller can see, as .xlsx in the import layout."""
    content = exports.export_xlsx(scope_of(request), kind)
    response = HttpResponse(content, content_type=exports.XLSX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{kind}.xlsx"'
    return response


@router.get("/organizations/{organization_id}", response=OrganizationFileOut)
def get_organization(request, organization_id: Id):
    return services.organization_file(scope_of(request), organization_id)


@router.patch("/organizations/{organization_id}", response=OrganizationOut)
def update_organization(request, organization_id: Id, payload: OrganizationPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    return services.update_organization(scope=scope_of(request), organization_id=organization_id, data=data,
                                        version=version)


@router.post("/organizations/{organization_id}/close", response=OrganizationOut)
def close_organization(request, organization_id: Id, payload: CloseIn):
    return services.close_organization(scope=scope_of(request), organization_id=organization_id,
                                       reason=payload.reason, closed_on=payload.closed_on, version=payload.version)


@router.post("/organizations/{organization_id}/supervision-class", response=OrganizationOut)
def override_supervision_class(request, organization_id: Id, payload: SupervisionOverrideIn):
    return services.override_supervision_class(
        scope=scope_of(request), organization_id=organization_id, supervision_class=payload.supervision_class,
        reason=payload.reason, version=payload.version)


@router.get("/organizations/{organization_id}/members", response=list[MemberOut])
def list_members(request, organization_id: Id):
    return services.organization_file(scope_of(request), organization_id)["members"]


@router.post("/organizations/{organization_id}/members", response={201: MemberOut})
def add_member(request, organization_id: Id, payload: MemberIn):
    membership = services.add_member(scope=scope_of(request), organization_id=organization_id,
                                     username=payload.username, role=payload.role)
    return Status(201, membership)


# --- sites, vehicles, permits -------------------------------------------------------------

@router.get("/sites", response=list[SiteOut])
def list_sites(request, organization: Id | None = None):
    return services.sites_for(scope_of(request), organization)


@router.post("/sites", response={201: SiteOut})
def add_site(request, payload: SiteIn):
    return Status(201, services.add_site(scope=scope_of(request), data=payload.model_dump()))


@router.get("/sites/{site_id}", response=SiteOut)
def get_site(request, site_id: Id):
    return services.get_site(scope_of(request), site_id)


@router.patch("/sites/{site_id}", response=SiteOut)
def update_site(request, site_id: Id, payload: SitePatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    return services.update_site(scope=scope_of(request), site_id=site_id, data=data, version=version)


@router.get("/vehicles", response=list[VehicleOut])
def list_vehicles(request, organization: Id | None = None):
    return services.vehicles_for(scope_of(request), organization)


@router.post("/vehicles", response={201: VehicleOut})
def add_vehicle(request, payload: VehicleIn):
    return Status(201, services.add_vehicle(scope=scope_of(request), data=payload.model_dump()))


@router.get("/vehicles/{vehicle_id}", response=VehicleOut)
def get_vehicle(request, vehicle_id: Id):
    return services.get_vehicle(scope_of(request), vehicle_id)


@router.get("/permits", response=list[PermitOut])
def list_permits(request, organization: Id | None = None):
    return services.permits_for(scope_of(request), organization)


@router.post("/permits", response={201: PermitOut})
def add_permit(request, payload: PermitIn):
    data = payload.model_dump()
    lines = data.pop("lines")
    permit = services.add_permit(scope=scope_of(request), data=data, lines=lines)
    return Status(201, permit)


@router.get("/permits/{permit_id}", response=PermitOut)
def get_permit(request, permit_id: Id):
    return services.get_permit(scope_of(request), permit_id)


# --- files ------------------------------------------------------------------------------

@router.post("/imports/{kind}", response={200: dict, 202: dict, 422: dict})
def import_file(request, kind: str, file: UploadedFile = File(...)):
    """Import organizations, sites, vehicles or permits from .xlsx or .csv; all rows or none. A large file
    (`imports.background_min_rows`) is imported by a background job: 202 with the job to follow."""
    if kind not in imports.SPECS:
        raise ValidationFailed(_("unknown import kind"), errors=[{"field": "kind", "message": kind}])
    scope = scope_of(request)
    imports.check_caller(scope)  # before anything of the file is read
    content = spreadsheets.read_upload(file, spreadsheets.limits_for(scope))
    outcome = imports.import_or_queue(scope=scope, user=request.user, kind=kind, content=content, filename=file.name)
    if isinstance(outcome, Job):
        return Status(202, import_jobs.answer(outcome))
    return Status(200, outcome.as_dict())
