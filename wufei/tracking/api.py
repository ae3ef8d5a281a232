"""Containers API: record batches (五即), scans, merge / split, storage inventory, trace.

Thin: parse, call a service with the caller's scope, shape the answer.
"""


from ninja import Router, Status

from wufei.core.api import page, scope_of
from wufei.core.inputs import Id, Since
from wufei.tracking import services
from wufei.tracking.label_views import router as labels_router
from wufei.tracking.schemas import (
    BulkRecordIn,
    BulkRecordOut,
    ContainerDetailOut,
    ContainerOut,
    ContainerPage,
    InventoryOut,
    MergeIn,
    RecordBatchIn,
    ReweighIn,
    ScanIn,
    ScanResultOut,
    SplitIn,
    StepIn,
    TraceOut,
)

router = Router(tags=["containers"])
router.add_router("", labels_router)


def _annotated(container):
    return services.annotate_storage([container])[0]


def _scan_result(scope, code: str, event):
    container = _annotated(services.get_container(scope, code))
    return Status(201, {"container": container, "event": event})


@router.post("/containers", response={201: list[ContainerOut]})
def record_batch(request, payload: RecordBatchIn):
    """Record a batch as produced: each container gets its own code (HJ 1276-2022)."""
    data = payload.model_dump()
    containers = services.record_batch(scope=scope_of(request), **data)
    return Status(201, services.annotate_storage(containers))


@router.post("/containers/bulk", response={201: BulkRecordOut})
def bulk_record(request, payload: BulkRecordIn):
    """Many batches of one unit at once (weighing stations, integrations); all or none."""
    containers = services.bulk_record(scope=scope_of(request), organization_id=payload.organization_id,
                                      batches=[batch.model_dump() for batch in payload.batches])
    return Status(201, {"created": len(containers), "codes": [c.code for c in containers]})


@router.get("/containers", response=ContainerPage)
def list_containers(request, organization: Id | None = None, holder: Id | None = None, waste: str | None = None,
                    status: str | None = None, stored_before: Since | None = None,
                    in_stock: bool | None = None, cursor: str | None = None, limit: int = 50,
                    updated_after: Since | None = None):
    containers = services.containers_for(scope_of(request), organization=organization, holder=holder, waste=waste,
                                         status=status, stored_before=stored_before, in_stock=in_stock)
    items, next_cursor = page(containers.select_related("parent", "split_from"), cursor=cursor, limit=limit,
                              updated_after=updated_after)
    return {"items": services.annotate_storage(items), "next_cursor": next_cursor}


@router.post("/containers/merge", response={201: ContainerOut})
def merge(request, payload: MergeIn):
    """Put containers of one waste code and holder into a new package; mixing is refused (GB 18597 §4.3)."""
    container = services.merge(scope=scope_of(request), **payload.model_dump())
    return Status(201, _annotated(container))


@router.get("/containers/{code}", response=ContainerDetailOut)
def get_container(request, code: str):
    scope = scope_of(request)
    container = _annotated(services.get_container(scope, code))
    return {"container": container, "events": list(services.events_of(container)),
            "next_scans": services.allowed_scans(scope, container)}


@router.post("/containers/{code}/steps", response={201: ScanResultOut})
def advance(request, code: str, payload: StepIn):
    """Record one of the remaining 五即 steps: packed, weighed, coded, stored."""
    scope = scope_of(request)
    data = payload.model_dump()
    container = services.advance(scope=scope, code=code, **data)
    event = container.events.order_by("-id").first()
    return _scan_result(scope, container.code, event)


@router.post("/containers/{code}/scans", response={201: ScanResultOut})
def scan(request, code: str, payload: ScanIn):
    """A later touch, allowed by the container life table (tracking/life.py)."""
    scope = scope_of(request)
    event = services.scan(scope=scope, code=code, **payload.model_dump())
    return _scan_result(scope, event.container.code, event)


@router.post("/containers/{code}/reweigh", response={201: ScanResultOut})
def reweigh(request, code: str, payload: ReweighIn):
    """Weigh again; a difference beyond the region's tolerance is flagged."""
    scope = scope_of(request)
    event = services.reweigh(scope=scope, code=code, **payload.model_dump())
    return _scan_result(scope, event.container.code, event)


@router.post("/containers/{code}/split", response={201: list[ContainerOut]})
def split(request, code: str, payload: SplitIn):
    """Divide a container; the weights must add up exactly to its net weight."""
    children = services.split(scope=scope_of(request), code=code, **payload.model_dump())
    return Status(201, services.annotate_storage(children))


@router.get("/inventory", response=InventoryOut)
def inventory(request, organization: Id | None = None, site: Id | None = None):
    """Stock per holder, storage facility and waste code, with the oldest storage age and its state."""
    return services.inventory(scope_of(request), organization_id=organization, site_id=site)


@router.get("/trace/{code}", response=TraceOut)
def trace(request, code: str):
    """The whole chain known so far: events, lineage (merges and splits, both ways) and custody."""
    scope = scope_of(request)
    result = services.trace(scope, code)
    result["container"] = _annotated(result["container"])
    return result
