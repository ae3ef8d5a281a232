"""Cross-province transfers API (跨省转移): applications and filings, the regulators' steps, standing rules.

Thin: parse, call `wufei.manifests.crossprovince` with the caller's scope, shape the answer.
Decisions carry the `version` the regulator saw (a stale one answers 409 `stale_version`).
Paths carry their `/cross-province` prefix: mount this router at "".
"""


from ninja import Router, Status

from wufei.core.api import page, scope_of
from wufei.core.inputs import Id, Since
from wufei.manifests import crossprovince
from wufei.manifests.crossprovince_schemas import (
    CrossProvinceApplicationDetailOut,
    CrossProvinceApplicationIn,
    CrossProvinceApplicationPage,
    CrossProvinceDecisionIn,
    CrossProvinceReviewIn,
    CrossProvinceRuleIn,
    CrossProvinceRuleOut,
    CrossProvinceRulePage,
    CrossProvinceRuleUpdateIn,
)

router = Router(tags=["cross-province"])


@router.post("/cross-province/applications", response={201: CrossProvinceApplicationDetailOut})
def apply(request, payload: CrossProvinceApplicationIn):
    """The generator applies to its province (kind `approval`) or files a utilization (kind `filing`)."""
    application = crossprovince.apply(scope=scope_of(request), **payload.model_dump())
    return Status(201, application)


@router.get("/cross-province/applications", response=CrossProvinceApplicationPage)
def list_applications(request, status: str | None = None, kind: str | None = None, role: str | None = None,
                      generator: Id | None = None, receiver: Id | None = None, code: str | None = None,
                      cursor: str | None = None, limit: int = 50, updated_after: Since | None = None):
    """Applications the caller can see. `role`: generator / receiver / origin / destination; a regulator's
    queues are e.g. `role=origin&status=submitted,dest_consented` and `role=destination&status=consulting`."""
    applications = crossprovince.applications_for(scope_of(request), status=status, kind=kind, role=role,
                                                  generator=generator, receiver=receiver, code=code)
    items, next_cursor = page(applications, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/cross-province/applications/{application_id}", response=CrossProvinceApplicationDetailOut)
def get_application(request, application_id: Id):
    return crossprovince.get_application(scope_of(request), application_id)


@router.post("/cross-province/applications/{application_id}/origin-review", response=CrossProvinceApplicationDetailOut)
def origin_review(request, application_id: Id, payload: CrossProvinceReviewIn):
    """The province of origin's first review: consent sends the consultation (商请函) to the destination."""
    crossprovince.origin_review(scope=scope_of(request), application_id=application_id, **payload.model_dump())
    return crossprovince.get_application(scope_of(request), application_id)


@router.post("/cross-province/applications/{application_id}/destination-review",
             response=CrossProvinceApplicationDetailOut)
def destination_review(request, application_id: Id, payload: CrossProvinceReviewIn):
    """The destination province's answer to the consultation."""
    crossprovince.destination_review(scope=scope_of(request), application_id=application_id,
                                      **payload.model_dump())
    return crossprovince.get_application(scope_of(request), application_id)


@router.post("/cross-province/applications/{application_id}/decision", response=CrossProvinceApplicationDetailOut)
def decide(request, application_id: Id, payload: CrossProvinceDecisionIn):
    """The province of origin approves (tonnes; validity computed) or refuses."""
    crossprovince.decide(scope=scope_of(request), application_id=application_id, **payload.model_dump())
    return crossprovince.get_application(scope_of(request), application_id)


@router.post("/cross-province/rules", response={201: CrossProvinceRuleOut})
def create_rule(request, payload: CrossProvinceRuleIn):
    """A whitelist or point-to-point exemption, set by a regulator of the province of origin."""
    return Status(201, crossprovince.create_rule(scope=scope_of(request), **payload.model_dump()))


@router.get("/cross-province/rules", response=CrossProvinceRulePage)
def list_rules(request, kind: str | None = None, origin: str | None = None, destination: str | None = None,
               cursor: str | None = None, limit: int = 50, updated_after: Since | None = None):
    rules = crossprovince.rules_for(scope_of(request), kind=kind, origin=origin, destination=destination)
    items, next_cursor = page(rules, cursor=cursor, limit=limit, updated_after=updated_after)
    return {"items": items, "next_cursor": next_cursor}


@router.patch("/cross-province/rules/{rule_id}", response=CrossProvinceRuleOut)
def update_rule(request, rule_id: Id, payload: CrossProvinceRuleUpdateIn):
    return crossprovince.update_rule(scope=scope_of(request), rule_id=rule_id, **payload.model_dump())


@router.delete("/cross-province/rules/{rule_id}", response={204: None})
def delete_rule(request, rule_id: Id, version: int):
    crossprovince.delete_rule(scope=scope_of(request), rule_id=rule_id, version=version)
    return Status(204, None)
