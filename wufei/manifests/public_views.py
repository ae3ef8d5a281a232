"""Manifest pages outside the workspace: the public verification page (road checks) and the PDF.

Under /manifests/ (see public_urls.py):
- verify/                   form: type a manifest number → redirect to its page
- verify/<number>/          public, no login: status, parties, plates, wastes, signature dates, digest
- <manifest_id>/pdf/        login required; the manifest must be visible to the caller, else 404
"""

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wufei.core.errors import NotFound
from wufei.core.scope import request_scope
from wufei.manifests import pdf, verify

NUMBER_RE = re.compile(r"\d{14}")


def _public(response):
    # the status changes with every signature, and a verification page is nobody's to index
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def verify_page(request):
    """/manifests/verify/: type (or paste) a manifest number."""
    raw = request.GET.get("number", "")
    number = verify.normalize_number(raw)
    error = ""
    if number:
        if NUMBER_RE.fullmatch(number):
            return redirect("manifests:verify_number", number)
        error = _("A manifest number has 14 digits: year, province, city and a six-digit serial.")
    return _public(render(request, "manifests/verify_form.html", {"number": raw.strip(), "error": error}))


@require_GET
def verify_number(request, number: str):
    """/manifests/verify/<number>/: what a scanned manifest's QR code opens; public facts only."""
    view = verify.public_view(number) if NUMBER_RE.fullmatch(verify.normalize_number(number)) else None
    if view is None:
        return _public(render(request, "manifests/verify.html",
                              {"number": number, "view": None, "message": verify.no_manifest_message(number)},
                              status=404))
    return _public(render(request, "manifests/verify.html", {"number": view["number"], "view": view}))


@login_required
@require_GET
def manifest_pdf(request, manifest_id: int):
    """The manifest as PDF (national 联单 layout), inline, named <number>.pdf."""
    try:
        manifest = pdf.manifest_for_pdf(request_scope(request), manifest_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(pdf.render_pdf(manifest), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf.filename(manifest)}"'
    response["Cache-Control"] = "private, no-store"
    return response
