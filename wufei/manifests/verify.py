"""Public verification of a manifest number (road checks: 路检核验).

Anyone holding a printed manifest (or a number read off it) may ask the platform whether it is
genuine, what state it is in and who the parties are, so that a traffic or environmental officer
can match the load on the road against it.

Numbers are sequential, so a number alone proves nothing about holding the paper: it answers only
whether the manifest exists and its status. The details need the manifest's access code as well
(8 characters of Crockford's base 32, random, made when the manifest is created and printed only on
it: in its QR link and next to the code on the PDF). Lookups are counted per client address in a
shared cache (`wufei.core.ratelimit`, settings.VERIFY_LOOKUPS_PER_HOUR). The detailed answer carries
only public facts:

- the number, kind and status, and when each party signed (no signer's person name);
- the parties by name and region (generator, receiver) and the carriers with their vehicles'
  plates — the plate is what a road check compares;
- the wastes by code and name with their package counts, and the total shipped tonnes.

Never: contacts, phone numbers, drivers, site names or addresses, notes, prices, container codes,
per-line quantities or anything of the reception beyond the status.

`digest` is the first 12 hex characters of SHA-256 over the number, the status and the signature
times; the PDF prints the same digest, so an officer sees at once whether a paper copy still
matches the platform (a later signature or a cancellation changes it).
"""

import datetime as dt
import hashlib
import hmac
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wufei.catalog.models import Region
from wufei.manifests.models import Manifest, Signature

DIGEST_LENGTH = 12

# what each signed step means, as shown to the public
STEP_LABELS = {
    "submit": gettext_lazy("signed and sent by the generator"),
    "pickup": gettext_lazy("taken over by the carrier"),
    "handover": gettext_lazy("handed over to the next carrier"),
    "receive": gettext_lazy("checked in by the receiver"),
    "process": gettext_lazy("utilization / disposal recorded"),
    "cancel": gettext_lazy("cancelled by the generator"),
}


def normalize_code(value: str) -> str:
    """An access code as typed: case, spaces and dashes do not matter; O reads as 0, I and L as 1."""
    text = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    return text.translate(str.maketrans("OIL", "011"))


def code_matches(manifest: Manifest, code: str) -> bool:
    code = normalize_code(code)
    return bool(code) and bool(manifest.access_code) and hmac.compare_digest(code, manifest.access_code)


def printed_code(manifest: Manifest) -> str:
    """The access code as printed: two groups of four (ABCD-EFGH)."""
    code = manifest.access_code or ""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def normalize_number(value: str) -> str:
    """A number as typed or read off paper: spaces, dashes and full-width digits are tolerated."""
    text = (value or "").translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")})
    return "".join(ch for ch in text if ch not in " \t\r\n-－　")


def signature_times(manifest: Manifest) -> list:
    """The manifest's signature times, in the order they were made (UTC datetimes)."""
    return list(Signature.objects.filter(manifest=manifest).order_by("signed_at", "id")
                .values_list("signed_at", flat=True))


def digest(manifest: Manifest, times=None) -> str:
    """First 12 hex chars of SHA-256 over number, status and signature times (UTC, ISO 8601, in order)."""
    if times is None:
        times = signature_times(manifest)
    parts = [manifest.number or "", manifest.status]
    parts += [t.astimezone(dt.UTC).isoformat(timespec="seconds") for t in times]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:DIGEST_LENGTH]


def region_label(region: Region | None) -> str:
    """The region's name with its province and city before it (重庆市巴南区, 江苏省南京市玄武区)."""
    if region is None:
        return ""
    codes = [code for code in region.path.strip("/").split("/") if code]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return "".join(names.get(code, "") for code in codes) or region.name


def _tonnes(value) -> str:
    value = Decimal(value or 0)
    text = f"{value.quantize(Decimal('0.001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def public_view(number: str, code: str = "") -> dict | None:
    """What the public may know of the manifest with this number, or None if no manifest has it.

    Without its access code (or with a wrong one): the number and the status (`detailed` False). With it: the
    public facts (`detailed` True).
    """
    number = normalize_number(number)
    if not number:
        return None
    manifest = (Manifest.objects.select_related("generator__region", "receiver__region")
                .filter(number=number).first())
    if manifest is None:
        return None
    if not code_matches(manifest, code):
        return {"number": manifest.number, "status": manifest.status,
                "status_label": str(manifest.get_status_display()), "detailed": False,
                "code_given": bool(normalize_code(code)), "checked_at": timezone.localtime()}
    legs = manifest.legs.select_related("transporter", "vehicle").order_by("position")
    lines = manifest.lines.order_by("position")
    signatures = list(Signature.objects.filter(manifest=manifest).select_related("organization")
                      .order_by("signed_at", "id"))
    return {
        "detailed": True,
        "number": manifest.number,
        "kind": manifest.kind,
        "kind_label": str(manifest.get_kind_display()),
        "status": manifest.status,
        "status_label": str(manifest.get_status_display()),
        "generator": {"name": manifest.generator.name, "region": region_label(manifest.generator.region)},
        "receiver": {"name": manifest.receiver.name, "region": region_label(manifest.receiver.region)},
        "transporters": [{"position": leg.position, "name": leg.transporter.name,
                          "plate": leg.vehicle.plate if leg.vehicle_id else ""} for leg in legs],
        "wastes": [{"code": line.code, "name": line.waste_name, "packages": line.container_count}
                   for line in lines],
        "total_packages": sum(line.container_count for line in lines),
        "shipped_tonnes": _tonnes(manifest.shipped_tonnes),
        "signatures": [{"step": s.step, "label": str(STEP_LABELS.get(s.step, s.step)),
                        "organization": s.organization.name,
                        "signed_at": timezone.localtime(s.signed_at)} for s in signatures],
        "digest": digest(manifest, [s.signed_at for s in signatures]),
        "checked_at": timezone.localtime(),
    }


def no_manifest_message(number: str) -> str:
    return _("No manifest with the number %(number)s is registered on the platform. Check the number; "
             "a manifest that cannot be found here is not valid.") % {"number": number}
