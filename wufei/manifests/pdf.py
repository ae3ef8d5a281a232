"""The transfer manifest as a printable PDF, in the layout of the national 危险废物转移联单.

Rendered by WeasyPrint from `templates/manifests/pdf.html`, the same way as the container labels
(`wufei/tracking/labels.py`): Noto Sans CJK, everything inline (the QR code as a PNG data URI),
nothing fetched. The three parts follow what each party fills under the 危险废物转移管理办法
(RULES.md §2):

- 一、移出信息 (Art.10): 移出人 name, USCC, address, contact, site, emergency measures, signature; the
  wastes (code, name, form, hazard characteristics, packaging, packages, quantity, intended method);
- 二、运输信息 (Art.11): per transport leg (联运, Art.17) the carrier, its USCC, the vehicle's plate and
  road transport permit number, driver, start and end, times taken and handed over;
- 三、接受信息 (Art.12): 接受人 name, USCC, the operating permits covering the codes, whether the load
  was accepted (in full, in part or refused), received / accepted / refused tonnes, reason for
  refusal, the method of utilization or disposal and its date, signatures.

Medical and general industrial waste manifests carry their own titles (医疗废物转移联单 /
一般工业固体废物转移联单). Like the labels, the manifest is a Chinese regulatory document: its
words do not follow the UI language.

The QR code opens the public verification page (`/manifests/verify/<number>/?code=<access code>`, see
verify.py), which shows the same digest as the one printed under the code; the access code is printed
beside it (查验码) for those who type the number instead of scanning.
"""

import base64
import datetime as dt
import io
from decimal import Decimal

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from wufei.core.errors import NotFound
from wufei.manifests import kinds, verify
from wufei.manifests.models import Manifest, Signature
from wufei.registry.models import OperatingPermit
from wufei.tracking.labels import FORM_NAMES, HAZARD_NAMES

TEMPLATE = "manifests/pdf.html"
VERIFY_PATH = "/manifests/verify/{number}/"

STATUS_NAMES = {
    "draft": "草稿（未签发）",
    "submitted": "已签发，待运输",
    "in_transit": "运输中",
    "received": "已接收",
    "refused": "已拒收",
    "processed": "已利用/处置",
    "cancelled": "已作废",
}
PURPOSE_NAMES = {
    "transfer": "转移",
    "collection": "小微收集",
    "forward": "收集后转运",
    "return": "拒收退回",
    "onward": "拒收后另行转移",
}
BASIS_NAMES = {
    "": "否",
    "approval": "是（跨省转移审批）",
    "whitelist": "是（白名单）",
    "point_to_point": "是（点对点定向利用豁免）",
    "filing": "是（利用备案）",
}
RECEPTION_NAMES = {"accepted": "接受", "partial": "部分接受、部分拒收", "refused": "拒收"}
PACKAGING_NAMES = {
    "drum": "桶",
    "bag": "袋",
    "tonne_bag": "吨袋",
    "box": "箱",
    "ibc": "IBC吨桶",
    "tank": "罐",
    "sharps_box": "利器盒",
    "bulk": "散装",
    "other": "其他",
}


# --- the verification address and its QR code ---------------------------------------------------

def verification_url(number: str, code: str = "") -> str:
    """The public address a scanned manifest opens (settings.BASE_URL, env WUFEI_BASE_URL), with its access code."""
    url = settings.BASE_URL.rstrip("/") + VERIFY_PATH.format(number=number)
    return f"{url}?code={code}" if code else url


def qr_png(manifest: Manifest) -> bytes:
    """The QR code of the manifest's verification URL, as PNG bytes (what the PDF embeds)."""
    if not manifest.number:
        raise ValueError("a manifest without a number has no verification address")
    qr = segno.make_qr(verification_url(manifest.number, manifest.access_code), error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=2, dark="#000000", light="#ffffff")
    return buffer.getvalue()


# --- selectors --------------------------------------------------------------------------------------

def manifest_for_pdf(scope, manifest_id: int) -> Manifest:
    """The manifest if the caller may see it, else NotFound (the same answer for unknown and invisible)."""
    manifest = (Manifest.objects.visible_to(scope)
                .select_related("generator__region", "generator_site", "receiver__region", "receiver_site")
                .filter(pk=manifest_id).first())
    if manifest is None:
        raise NotFound("manifest not found")
    return manifest


# --- formatting -------------------------------------------------------------------------------------

def _time(value) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")


def _date(value) -> str:
    return value.isoformat() if value else ""


def _tonnes(value) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value).quantize(Decimal('0.001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _joined(*parts) -> str:
    return " ".join(str(part) for part in parts if part)


def _hazards(value: str) -> str:
    keys = [h.strip() for h in (value or "").split(",") if h.strip()]
    return "、".join(HAZARD_NAMES.get(key, key) for key in keys)


def _method(method) -> str:
    return f"{method.code} {method.name_zh}" if method else ""


def _signature(signature) -> dict | None:
    if signature is None:
        return None
    return {"name": signature.signer_name, "at": _time(signature.signed_at),
            "by_code": signature.method == "signing_code"}


# --- the document -----------------------------------------------------------------------------------

def covering_permits(manifest: Manifest, codes, on: dt.date) -> list[str]:
    """Numbers of the receiver's operating permits, valid on `on`, that cover at least one of the codes."""
    codes = [code for code in codes if code]
    if not codes:
        return []
    permits = (OperatingPermit.objects.filter(organization_id=manifest.receiver_id, valid_from__lte=on,
                                              valid_until__gte=on)
               .exclude(status=OperatingPermit.Status.REVOKED).prefetch_related("lines").order_by("number"))
    return [permit.number for permit in permits
            if any(line.covers(code) for line in permit.lines.all() for code in codes)]


def manifest_context(manifest: Manifest) -> dict:
    """Everything the template prints for one manifest."""
    lines = list(manifest.lines.select_related("waste", "planned_method", "method").order_by("position"))
    legs = list(manifest.legs.select_related("transporter", "vehicle").order_by("position"))
    signatures = list(Signature.objects.filter(manifest=manifest).order_by("signed_at", "id"))

    def last(step):
        found = [s for s in signatures if s.step == step]
        return found[-1] if found else None

    def leg_signature(leg):
        """The signature that took this leg over (pickup for the first carrier, handover for the next)."""
        found = [s for s in signatures if s.step in ("pickup", "handover") and s.leg_id == leg.pk]
        if not found and leg is legs[0]:
            found = [s for s in signatures if s.step == "pickup" and s.leg_id is None]
        return found[-1] if found else None

    generator, receiver = manifest.generator, manifest.receiver
    site = manifest.generator_site
    reference_day = timezone.localtime(manifest.received_at or manifest.submitted_at or timezone.now()).date()
    context = {
        "title": (kinds.find(manifest.kind) or kinds.get(kinds.DEFAULT)).pdf_title,
        "kind": manifest.kind,
        "dangerous_goods": (kinds.find(manifest.kind) or kinds.get(kinds.DEFAULT)).dangerous_goods,
        "number": manifest.number or "",
        "status": STATUS_NAMES.get(manifest.status, manifest.status),
        "purpose": PURPOSE_NAMES.get(manifest.purpose, manifest.purpose),
        "cross_province": BASIS_NAMES.get(manifest.cross_province_basis, manifest.cross_province_basis),
        "follows": manifest.follows.number if manifest.follows_id and manifest.follows else "",
        "generator": {
            "name": generator.name,
            "uscc": generator.uscc,
            "region": verify.region_label(generator.region),
            "address": (site.address if site and site.address else "") or generator.address,
            "contact": _joined(generator.contact_name, generator.contact_phone),
            "site": _joined(site.name, f"（{site.code}）") if site else "",
            "emergency_measures": manifest.emergency_measures,
            "submitted_at": _time(manifest.submitted_at),
            "signature": _signature(last("submit")),
        },
        "lines": [{
            "position": line.position,
            "code": line.code,
            "name": line.waste_name,
            "form": FORM_NAMES.get(line.physical_form, line.physical_form),
            "hazards": _hazards(line.hazards or (line.waste.hazards if line.waste_id else "")),
            "packaging": PACKAGING_NAMES.get(line.packaging, line.packaging),
            "packages": line.container_count,
            "shipped": _tonnes(line.shipped_tonnes),
            "received": _tonnes(line.received_tonnes),
            "refused": _tonnes(line.refused_tonnes) if line.refused_tonnes else "",
            "planned_method": _method(line.planned_method),
            "method": _method(line.method),
            "processed_on": _date(line.processed_on),
        } for line in lines],
        "total_packages": sum(line.container_count for line in lines),
        "shipped_tonnes": _tonnes(manifest.shipped_tonnes),
        "legs": [{
            "position": leg.position,
            "name": leg.transporter.name,
            "uscc": leg.transporter.uscc,
            "plate": leg.vehicle.plate if leg.vehicle_id else "",
            "vehicle_type": leg.vehicle.vehicle_type if leg.vehicle_id else "",
            "permit_number": leg.vehicle.transport_permit_number if leg.vehicle_id else "",
            "driver": _joined(leg.driver_name, leg.driver_phone),
            "start_place": leg.start_place,
            "end_place": leg.end_place,
            "taken_at": _time(leg.taken_at),
            "handed_at": _time(leg.handed_at),
            "signature": _signature(leg_signature(leg)),
        } for leg in legs],
        "receiver": {
            "name": receiver.name,
            "uscc": receiver.uscc,
            "region": verify.region_label(receiver.region),
            "address": (manifest.receiver_site.address if manifest.receiver_site else "") or receiver.address,
            "site": (_joined(manifest.receiver_site.name, f"（{manifest.receiver_site.code}）")
                     if manifest.receiver_site else ""),
            "permits": covering_permits(manifest, [line.waste_id for line in lines], reference_day),
            "reception": RECEPTION_NAMES.get(manifest.reception, manifest.reception),
            "received_tonnes": _tonnes(manifest.received_tonnes),
            "accepted_tonnes": _tonnes(manifest.accepted_tonnes) if manifest.reception else "",
            "refused_tonnes": _tonnes(manifest.refused_tonnes) if manifest.reception else "",
            "discrepancy": (f"{manifest.discrepancy_percent.normalize():f} %"
                            if manifest.discrepancy and manifest.discrepancy_percent is not None else ""),
            "refusal_reason": manifest.refusal_reason,
            "received_at": _time(manifest.received_at),
            "signature": _signature(last("receive")),
            "processed_at": _time(manifest.processed_at),
            "process_signature": _signature(last("process")),
        },
        "note": manifest.note,
        "cancel_reason": manifest.cancel_reason if manifest.status == "cancelled" else "",
        "digest": verify.digest(manifest, [s.signed_at for s in signatures]),
        "printed_at": _time(timezone.now()),
        "url": verification_url(manifest.number, manifest.access_code) if manifest.number else "",
        "access_code": verify.printed_code(manifest),
        "qr": "",
    }
    if manifest.number:
        context["qr"] = "data:image/png;base64," + base64.b64encode(qr_png(manifest)).decode("ascii")
    return context


def render_html(manifest: Manifest) -> str:
    return render_to_string(TEMPLATE, {"m": manifest_context(manifest)})


def render_pdf(manifest: Manifest) -> bytes:
    """The manifest as PDF bytes (A4)."""
    from weasyprint import HTML  # imported late: loading WeasyPrint and its fonts takes a moment
    from weasyprint.urls import URLFetcher

    # everything the document shows is inline (the QR code as a data: URI): fetch nothing else
    return HTML(string=render_html(manifest), url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def filename(manifest: Manifest) -> str:
    return f"{manifest.number or f'manifest-{manifest.pk}'}.pdf"
