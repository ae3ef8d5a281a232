"""Manifest pages outside the workspace: the public verification page (road checks) and the PDF.

Under /manifests/ (see public_urls.py):
- verify/                   form: type a manifest number (and its access code) → redirect to its page
- verify/<number>/?code=…   public, no login: the status; with the manifest's access code also parties, plates,
                            wastes, signature dates, digest. Lookups per client address and hour are limited
                            (settings.VERIFY_LOOKUPS_PER_HOUR): past it, 429.
- <manifest_id>/pdf/        login required; the manifest must be visible to the caller, else 404
"""

import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wufei.core import ratelimit
from wufei.core.errors import NotFound
from wufei.core.scope import request_scope
from wufei.manifests import pdf, verify

NUMBER_RE = re.compile(r"\d{14}")
LOOKUP_WINDOW = 3600  # seconds


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
    code = verify.normalize_code(request.GET.get("code", ""))[:20]
    error = ""
    if number:
        if NUMBER_RE.fullmatch(number):
            response = redirect("manifests:verify_number", number)
            if code:
                response["Location"] += "?" + urlencode({"code": code})
            return response
        error = _("A manifest number has 14 digits: year, province, city and a six-digit serial.")
    return _public(render(request, "manifests/verify_form.html", {"number": raw.strip(), "error": error}))


@require_GET
def verify_number(request, number: str):
    """/manifests/verify/<number>/: what a scanned manifest's QR code opens; public facts only."""
    if not ratelimit.take("verify", ratelimit.client_address(request), limit=settings.VERIFY_LOOKUPS_PER_HOUR,
                          window=LOOKUP_WINDOW):
        response = render(request, "manifests/verify.html", {"number": number, "view": None, "limited": True,
                                                              "message": _(
            "Too many manifests were checked from your connection in the last hour. Please try again later.")},
            status=429)
        response["Retry-After"] = str(LOOKUP_WINDOW)
        return _public(response)
    code = request.GET.get("code", "")[:40]
    view = verify.public_view(number, code) if NUMBER_RE.fullmatch(verify.normalize_number(number)) else None
    if view is None:
        return _public(render(request, "manifests/verify.html",
                              {"number": number, "view": None, "message": verify.no_manifest_message(number)},
                              status=404))
    return _public(render(request, "manifests/verify.html", {"number": view["number"], "view": view, "code": code}))


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
