"""Indicators API: catalog, quantities, plans, evaluation, roll-up, comparison, drill-down, index,
data requests and reports. Thin: parse, call a service with the caller's scope, shape the answer."""

from urllib.parse import quote

from django.http import HttpResponse
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from wufei.core import files
from wufei.core.api import scope_of
from wufei.core.inputs import Id, Year
from wufei.indicators import formulas, reports, services
from wufei.indicators.models import Indicator
from wufei.indicators.schemas import (
    FormulaIn,
    IndicatorEvidenceOut,
    IndicatorOut,
    IndicatorPlanDetailOut,
    IndicatorPlanOut,
    JudgementIn,
    QuantityOut,
    RequestIn,
    RequestOut,
    RequestReviewIn,
    RequestVersionIn,
    ValueIn,
)

router = Router(tags=["indicators"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plan(plan) -> dict:
    return {"id": plan.pk, "key": plan.key, "name": plan.name, "region": plan.region_id,
            "baseline_year": plan.baseline_year, "target_years": plan.target_years, "source": plan.source}


def _request(request) -> dict:
    return {"id": request.pk, "region": request.region_id, "department_id": request.department_id,
            "department": request.department.name, "year": request.year, "keys": request.keys,
            "due_date": request.due_date, "status": request.status, "note": request.note,
            "review_comment": request.review_comment, "version": request.version,
            "values": [{"id": v.pk, "key": v.key, "value": None if v.value is None else str(v.value),
                        "state": v.state, "entered_value": v.entered_value, "entered_unit": v.entered_unit,
                        "evidence": v.evidence, "status": v.status} for v in request.values.order_by("key")]}


def _codes(codes: str | None):
    return [c for c in (codes or "").split(",") if c] or None


@router.get("/indicators/catalog", response=list[IndicatorOut])
def catalog(request):
    return Indicator.objects.visible_to(scope_of(request))


@router.get("/indicators/quantities", response=list[QuantityOut])
def quantities(request):
    return [{"key": s.key, "name": s.name, "unit": s.unit, "source": s.source, "description": s.description}
            for s in formulas.QUANTITIES.values()]


@router.get("/indicators/plans", response=list[IndicatorPlanOut])
def plans(request):
    return [_plan(p) for p in services.plans_for(scope_of(request))]


@router.get("/indicators/plans/{plan_id}", response=IndicatorPlanDetailOut)
def plan_detail(request, plan_id: Id):
    plan = services.get_plan(scope_of(request), plan_id)
    rows = []
    for row in plan.rows.select_related("indicator").prefetch_related("targets"):
        rows.append({"id": row.pk, "number": row.number, "indicator": row.indicator.code, "name": row.name,
                     "level1": row.level1, "level2": row.level2, "unit": row.unit, "mark": row.mark,
                     "baseline_text": row.baseline_text,
                     "baseline_value": None if row.baseline_value is None else str(row.baseline_value.normalize()),
                     "baseline_year": row.baseline_year, "responsible": row.responsible,
                     "targets": [{"year": t.year, "text": t.text, "expression": t.expression}
                                 for t in row.targets.all()]})
    return {**_plan(plan), "rows": rows}


@router.get("/indicators/plans/{plan_id}/evaluation", response=dict)
def plan_evaluation(request, plan_id: Id, year: Year):
    results = services.evaluate_plan(scope=scope_of(request), plan_id=plan_id, year=year)
    return {"plan": plan_id, "year": year, "counts": services.status_counts(results),
            "results": [r.as_dict() for r in results]}


@router.get("/indicators/plans/{plan_id}/report.xlsx")
def plan_report_xlsx(request, plan_id: Id, year: Year):
    content = reports.export_xlsx(scope=scope_of(request), plan_id=plan_id, year=year)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="indicators-{plan_id}-{year}.xlsx"'
    return response


@router.get("/indicators/plans/{plan_id}/report.pdf")
def plan_report_pdf(request, plan_id: Id, year: Year):
    response = HttpResponse(reports.render_pdf(scope=scope_of(request), plan_id=plan_id, year=year),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="indicators-{plan_id}-{year}.pdf"'
    return response


@router.post("/indicators/plans/{plan_id}/report.pdf/jobs", response={202: dict})
def queue_report_pdf(request, plan_id: Id, year: Year):
    """Render the PDF report in the background: answers the job to follow (GET /api/v1/jobs/{id})."""
    record = services.queue_report_pdf(scope=scope_of(request), user=request.user, plan_id=plan_id, year=year)
    return Status(202, {"job": record.pk, "url": f"/api/v1/jobs/{record.pk}"})


@router.put("/indicators/rows/{row_id}/formula", response=dict)
def set_formula(request, row_id: Id, payload: FormulaIn):
    row = services.set_row_formula(scope=scope_of(request), row_id=row_id, **payload.dict())
    return {"id": row.pk, "numerator": row.numerator, "denominator": row.denominator, "version": row.version}


@router.post("/indicators/judgements", response=dict)
def judge(request, payload: JudgementIn):
    judgement = services.judge(scope=scope_of(request), **payload.dict())
    return {"id": judgement.pk, "row_id": judgement.row_id, "year": judgement.year, "status": judgement.status}


@router.get("/indicators/regions/{region}/evaluation", response=dict)
def region_evaluation(request, region: str, year: Year, codes: str | None = None):
    results = services.evaluate_region(scope=scope_of(request), region_code=region, year=year, codes=_codes(codes))
    return {"region": region, "year": year, "results": [r.as_dict() for r in results]}


def _table(table: dict) -> dict:
    return {"columns": [{"code": c.code, "name": c.name} for c in table["columns"]],
            "rows": [{"indicator": row["indicator"].code, "name": row["indicator"].name,
                      "unit": row["indicator"].unit,
                      "values": {code: r.as_dict()["value"] for code, r in row["values"].items()}}
                     for row in table["rows"]]}


@router.get("/indicators/regions/{region}/rollup", response=dict)
def region_rollup(request, region: str, year: Year, codes: str | None = None):
    return _table(services.rollup(scope=scope_of(request), region_code=region, year=year, codes=_codes(codes)))


@router.get("/indicators/compare", response=dict)
def compare(request, regions: str, year: Year, codes: str | None = None):
    return _table(services.compare(scope=scope_of(request), region_codes=_codes(regions) or [], year=year,
                                   codes=_codes(codes)))


@router.get("/indicators/regions/{region}/drilldown", response=dict)
def drilldown(request, region: str, year: Year, key: str):
    result = services.drill_down(scope=scope_of(request), region_code=region, year=year, key=key)
    for record in result["records"]:
        record["value"] = None if record["value"] is None else str(record["value"])
    return result


@router.get("/indicators/regions/{region}/index", response=dict)
def index(request, region: str, year: Year):
    return services.region_index(scope=scope_of(request), region_code=region, year=year)


@router.get("/indicators/requests", response=list[RequestOut])
def list_requests(request, year: Year | None = Query(None)):
    rows = services.requests_for(scope_of(request))
    if year is not None:
        rows = rows.filter(year=year)
    return [_request(r) for r in rows]


@router.post("/indicators/requests", response={201: RequestOut})
def create_request(request, payload: RequestIn):
    data = payload.dict()
    created = services.create_request(scope=scope_of(request), region_code=data.pop("region"), **data)
    return Status(201, _request(created))


@router.get("/indicators/requests/{request_id}", response=RequestOut)
def get_request(request, request_id: Id):
    return _request(services.get_request(scope_of(request), request_id))


@router.post("/indicators/requests/{request_id}/values", response=RequestOut)
def enter_value(request, request_id: Id, payload: ValueIn):
    services.enter_value(scope=scope_of(request), request_id=request_id, **payload.dict())
    return _request(services.get_request(scope_of(request), request_id))


@router.post("/indicators/requests/{request_id}/values/{key}/evidence", response={201: IndicatorEvidenceOut})
def attach_evidence(request, request_id: Id, key: str, file: UploadedFile = File(...)):
    """Attach a file (pdf, images, office files, zip, ofd) to an entered quantity of an open request."""
    evidence = services.attach_evidence(scope=scope_of(request), request_id=request_id, key=key, name=file.name,
                                        content=file, content_type=file.content_type or "")
    return Status(201, evidence)


@router.get("/indicators/evidence/{evidence_id}")
def download_evidence(request, evidence_id: Id):
    evidence = services.get_evidence(scope_of(request), evidence_id)
    response = HttpResponse(files.read(evidence.path), content_type=evidence.content_type or "application/octet-stream")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(evidence.name)}"
    return response


@router.post("/indicators/requests/{request_id}/submit", response=RequestOut)
def submit(request, request_id: Id, payload: RequestVersionIn):
    return _request(services.submit_request(scope=scope_of(request), request_id=request_id,
                                            version=payload.version))


@router.post("/indicators/requests/{request_id}/review", response=RequestOut)
def review(request, request_id: Id, payload: RequestReviewIn):
    return _request(services.review_request(scope=scope_of(request), request_id=request_id,
                                            approve=payload.approve, comment=payload.comment,
                                            version=payload.version))
