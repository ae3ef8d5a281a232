"""Label pages and API (printable PDF labels with QR codes); see tracking/labels.py.

Pages (under /tracking/):
- labels/<code>.pdf                          one container's label(s), one per page (?layout=, ?size=)
- labels.pdf?codes=a,b,c&layout=sheet        many containers' labels (sheet: A4, 2×2)
API (under /api/v1):
- GET  /containers/{code}/label.pdf
- POST /labels  {"codes": [...], "layout": "sheet"|"single", "size": null|100|150|200}

Every container must be visible to the caller; an unknown or invisible code is a 404 either way.
"""

from typing import Literal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from ninja import Field, Router, Schema

from wufei.core.api import scope_of
from wufei.core.errors import NotFound, ValidationFailed, WufeiError, field_error
from wufei.core.scope import request_scope
from wufei.tracking import labels

PDF = "application/pdf"
PDF_RESPONSE = {"responses": {200: {"description": "PDF", "content": {PDF: {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}}}

router = Router(tags=["labels"])

Layout = Literal["sheet", "single"]
Size = Literal[100, 150, 200]


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=PDF)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _size(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("label size must be a number of millimetres"),
                               errors=[field_error("size", _("invalid"))]) from exc


def _codes(request) -> list[str]:
    """`codes=a,b,c` (and/or repeated `codes=`), in the order given."""
    return [code for value in request.GET.getlist("codes") for code in value.split(",") if code.strip()]


# --- pages --------------------------------------------------------------------------------------

def _page(render):
    try:
        content, filename = render()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except WufeiError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    return _pdf_response(content, filename)


@login_required
@require_GET
def container_label(request, code: str):
    def render():
        container = labels.container_for_label(request_scope(request), code)
        pdf = labels.render_labels([container], layout=request.GET.get("layout") or "single",
                                   size=_size(request.GET.get("size")))
        return pdf, f"label-{container.code}.pdf"

    return _page(render)


@login_required
@require_GET
def batch_labels(request):
    def render():
        containers = labels.containers_for_labels(request_scope(request), _codes(request))
        pdf = labels.render_labels(containers, layout=request.GET.get("layout") or "sheet",
                                   size=_size(request.GET.get("size")))
        return pdf, "labels.pdf"

    return _page(render)


urlpatterns = [
    path("labels/<str:code>.pdf", container_label, name="container_label"),
    path("labels.pdf", batch_labels, name="labels"),
]


# --- API ------------------------------------------------------------------------------------------

class LabelsIn(Schema):
    codes: list[str] = Field(..., min_length=1, max_length=labels.MAX_BATCH,
                             description="container codes (数字识别码), printed in this order")
    layout: Layout = Field("sheet", description="sheet: A4 with 2×2 small labels; single: one label a page")
    size: Size | None = Field(None, description="label edge in mm; default by container volume (HJ 1276)")


@router.get("/containers/{code}/label.pdf", openapi_extra=PDF_RESPONSE, summary="Label of one container (PDF)")
def container_label_pdf(request, code: str, layout: Layout = "single", size: Size | None = None):
    """The container's label(s) per HJ 1276-2022: two for a container above 450 L."""
    container = labels.container_for_label(scope_of(request), code)
    return _pdf_response(labels.render_labels([container], layout=layout, size=size), f"label-{container.code}.pdf")


@router.post("/labels", openapi_extra=PDF_RESPONSE, summary="Labels of many containers (PDF)")
def labels_pdf(request, payload: LabelsIn):
    """Labels of the given containers; 404 if any of them is unknown or not visible to the caller."""
    containers = labels.containers_for_labels(scope_of(request), payload.codes)
    return _pdf_response(labels.render_labels(containers, layout=payload.layout, size=payload.size), "labels.pdf")
