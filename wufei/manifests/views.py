"""Manifest pages: the list (the regulator's list with filters), creating a manifest by scanning containers,
the manifest's page, the phone-friendly signing pages, bulk signing and the gate signing code.

Views are thin: they take the caller's Scope, call `services`, and render. A WufeiError becomes a
message on the page (errors naming a field are shown next to it, and the form keeps what was typed);
NotFound is a 404; a Conflict (stale version, step not allowed now) is a 409 page with a reload link.
Importing this module registers the "Transfer manifests" section of the organization page (一企一档).
"""

import datetime as dt
import functools
import re
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wufei.catalog.models import Region, TreatmentMethod
from wufei.core.errors import Conflict, NotFound, ValidationFailed, WufeiError
from wufei.core.scope import Scope, request_scope
from wufei.manifests import kinds, machine, services
from wufei.manifests.models import (
    Manifest,
    ManifestContainer,
    ManifestLine,
    ManifestStatus,
    Purpose,
    Revision,
    RevisionStatus,
    SigningCode,
)
from wufei.manifests.verify import STEP_LABELS as SIGNED_STEP_LABELS  # signatures read as on the public page
from wufei.registry.models import Organization, Site, Vehicle
from wufei.registry.services import permit_lines_covering
from wufei.registry.views import OrganizationSection, register_organization_section
from wufei.tracking import services as tracking

S = ManifestStatus
PAGE_SIZE = 50
BULK_LIMIT = 200
DIRECTORY_LIMIT = 1000
BLANK_LINES = 3  # typed lines offered for general industrial solid waste
BULK_STEPS = machine.BULK_STEPS
GATE_STEPS = machine.GATE_STEPS  # signed at a gate, where one side may have no account
CREATE_PURPOSES = (Purpose.TRANSFER, Purpose.COLLECTION, Purpose.FORWARD)
FOLLOW_UP_PURPOSES = (Purpose.RETURN, Purpose.ONWARD)
CODE_SEPARATORS = re.compile(r"[\s,;，；、]+")

STEP_LABELS = {name: step.label for name, step in machine.STEPS.items()}  # the step contract (machine.py)
REVISION_FIELDS = {
    "receiver_site_id": gettext_lazy("Receiving site"),
    "emergency_measures": gettext_lazy("Emergency measures"),
    "note": gettext_lazy("Note"),
    "waste_name": gettext_lazy("Waste name"),
    "planned_method_id": gettext_lazy("Intended method"),
    "method_id": gettext_lazy("Method"),
    "processed_on": gettext_lazy("Processed on"),
}
LINE_REVISABLE = ("waste_name", "planned_method_id", "method_id", "processed_on")
FLAG_CHOICES = (("", gettext_lazy("any")), ("yes", gettext_lazy("yes")), ("no", gettext_lazy("no")))


# --- helpers ---------------------------------------------------------------------------------------

def _not_found_is_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def _field_key(field: str) -> str:
    """'legs.0.vehicle_id' → 'legs_0_vehicle_id' (a template can reach it); container codes share one key."""
    if field.startswith(("container_codes", "codes")):
        return "container_codes"
    return field.replace(".", "_") or "general"


def _field_errors(exc: WufeiError | None) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for error in exc.errors if exc else []:
        result.setdefault(_field_key(error.get("field") or "general"), []).append(error.get("message", ""))
    return result


def _problems(exc: WufeiError) -> list[str]:
    """Every message of an error, for the list at the top of a form (a submission names all its rules)."""
    listed = [error.get("message", "") for error in exc.errors if error.get("message")]
    return [message for message in listed if message != exc.message]


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _posted_version(request) -> int:
    """The version the form was built from; a form without one signs or changes nothing."""
    version = _int(request.POST.get("version"))
    if version is None:
        raise Conflict(_("The form did not say which version of the manifest it changes; reload it."),
                       code="stale_version")
    return version


def _flag(value: str):
    return {"yes": True, "no": False}.get(value)


def _codes(text: str) -> list[str]:
    """Codes typed or scanned into a box: one a line (a barcode scanner types the code and Enter)."""
    return [code.upper() for code in CODE_SEPARATORS.split(text or "") if code]


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def _treatment_methods():
    return list(TreatmentMethod.objects.filter(kind__in=(TreatmentMethod.Kind.UTILIZATION,
                                                         TreatmentMethod.Kind.DISPOSAL)).order_by("kind", "code"))


def _party_for_step(manifest: Manifest, step: str) -> Organization | None:
    # services keeps who signs which step (machine.STEPS); this is its reader for pages
    return services.party_for_step(manifest, step, quiet=True)


def _step_allowed_now(manifest: Manifest, step: str) -> bool:
    return machine.refusal(step, manifest.status, manifest.purpose) is None


def _is_overdue(manifest: Manifest, now: dt.datetime) -> bool:
    return manifest.status == S.IN_TRANSIT and services.is_overdue(manifest, now)


def _writes_for(scope: Scope, organization_id: int) -> bool:
    # as the services decide: a party's admins and members write for it (platform admins are no party)
    return organization_id in scope.writable_organization_ids


# --- the list --------------------------------------------------------------------------------------

def _region_choices(scope: Scope) -> list[Region]:
    """Regions a regulator may narrow the list to: its own and the cities / districts below."""
    if not scope.region_paths:
        return []
    query = Q(pk__in=[])
    for path in scope.region_paths:
        query |= Q(path__startswith=path)
    return list(Region.objects.filter(query, status="current").exclude(level=Region.Level.PROVINCE)
                .order_by("code")[:DIRECTORY_LIMIT]) or list(Region.objects.filter(code__in=scope.region_codes))


DONE_STATUSES = f"{S.RECEIVED},{S.PROCESSED}"  # the manifests the cockpit's tonnes count
LIST_FILTERS = ("q", "status", "kind", "purpose", "region", "side", "to_region", "year", "overdue", "discrepancy",
                "cross_province", "organization", "receiver", "category", "method", "method_kind")
SIDE_CHOICES = (("", gettext_lazy("generator or receiver")), ("generator", gettext_lazy("generator")),
                ("receiver", gettext_lazy("receiver")), ("inflow", gettext_lazy("receiver, from outside the region")))
PURPOSE_FILTERS = ("transferred", "received", *Purpose.values)
METHOD_KIND_CHOICES = (("", gettext_lazy("any")), ("utilization", gettext_lazy("utilization")),
                       ("disposal", gettext_lazy("disposal")))


def _year(value: str):
    year = _int(value)
    return year if year is not None and 2000 <= year <= 2100 else None


@login_required
@require_GET
def manifest_list(request):
    scope = request_scope(request)
    filters = {name: request.GET.get(name, "").strip() for name in LIST_FILTERS}
    errors: dict[str, list[str]] = {}
    for name, ok in (("year", _year(filters["year"]) is not None), ("organization", _int(filters["organization"])),
                     ("receiver", _int(filters["receiver"]))):
        if filters[name] and not ok:
            errors[name] = [_("Not a valid value; this filter is ignored.")]
    region, to_region = (filters[name] if filters[name].isdigit() and len(filters[name]) == 6 else None
                         for name in ("region", "to_region"))
    for name, code in (("region", region), ("to_region", to_region)):
        if filters[name] and code is None:
            errors[name] = [_("Not a region code; this filter is ignored.")]
    selection = {
        "kind": filters["kind"] if kinds.find(filters["kind"]) else None,
        "region": region, "side": filters["side"] if filters["side"] in services.LIST_SIDES else None,
        "to_region": to_region, "purpose": filters["purpose"] if filters["purpose"] in PURPOSE_FILTERS else None,
        "year": _year(filters["year"]), "organization": _int(filters["organization"]),
        "receiver": _int(filters["receiver"]),
        "overdue": _flag(filters["overdue"]), "discrepancy": _flag(filters["discrepancy"]),
        "cross_province": _flag(filters["cross_province"]), "q": filters["q"] or None,
    }
    lines = {name: filters[name] or None for name in ("category", "method", "method_kind")}
    try:
        line_q = services.line_filter(**lines)
    except WufeiError as exc:
        # a value the services cannot read names its field: say so there and leave that filter out
        errors.update(_field_errors(exc))
        lines = {name: value for name, value in lines.items() if name not in errors}
        line_q = services.line_filter(**lines)
    for name, message in errors.items():
        messages.error(request, f"{LIST_LABELS.get(name, name)}: {'; '.join(message)}")
    statuses = [value for value in filters["status"].split(",") if value in S.values]
    status = ",".join(statuses) if statuses and len(statuses) == len(filters["status"].split(",")) else None
    unfiltered = services.manifests_for(scope, **selection, **lines)
    counts = dict(unfiltered.order_by().values_list("status").annotate(n=Count("pk")))
    kept = {k: v for k, v in filters.items() if v and k not in errors}
    status_counts = [{"status": value, "label": label, "count": counts.get(value, 0),
                      "query": urlencode({**kept, "status": value})}
                     for value, label in S.choices]
    manifests = unfiltered.filter(status__in=statuses) if status else unfiltered
    page = Paginator(manifests.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    # accepted tonnes of the lines the filters select (all lines without a category / method filter), per row
    # and for the whole selection: the figure a cockpit link promises
    matching = ManifestLine.objects.filter(line_q)
    per_row = dict(matching.filter(manifest_id__in=[m.pk for m in page.object_list]).values("manifest_id")
                   .annotate(t=Sum("accepted_tonnes")).order_by().values_list("manifest_id", "t"))
    total_tonnes = matching.filter(manifest__in=manifests.order_by().values("pk")).aggregate(
        t=Sum("accepted_tonnes"))["t"] or 0
    rows = [{"manifest": m, "overdue": _is_overdue(m, now), "accepted": _t(per_row.get(m.pk))}
            for m in page.object_list]
    return render(request, "manifests/list.html", {
        "page": page, "rows": rows, "filters": filters, "errors": errors, "status_counts": status_counts,
        "total": sum(counts.values()), "total_tonnes": _t(total_tonnes), "line_filtered": bool(line_q),
        "statuses": [*S.choices, (DONE_STATUSES, _("received or processed"))], "kinds": kinds.choices(),
        "sides": SIDE_CHOICES,
        "method_kinds": METHOD_KIND_CHOICES, "methods": list(TreatmentMethod.objects.order_by("code")),
        "regions": _region_choices(scope), "flag_choices": FLAG_CHOICES,
        "can_create": bool(tracking.recording_organizations(scope)),
        "can_bulk_sign": bool(scope.organization_ids),
    })


LIST_LABELS = {"year": gettext_lazy("Received in year"), "region": gettext_lazy("Region"),
               "organization": gettext_lazy("Unit"), "receiver": gettext_lazy("Receiver"),
               "category": gettext_lazy("Waste category"), "method": gettext_lazy("Method"),
               "method_kind": gettext_lazy("Method kind"), "side": gettext_lazy("Region of"),
               "to_region": gettext_lazy("Received in region")}


def _t(value) -> Decimal:
    """A sum of tonnes, exact to the gram (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.000001"))


# --- create by scanning containers -----------------------------------------------------------------

def _directory(role_q: Q):
    """Active units of a role, for the pickers (names and USCCs of licensed units are public)."""
    return list(Organization.objects.filter(role_q, status=Organization.Status.ACTIVE).order_by("name", "pk")
                .only("pk", "name", "uscc")[:DIRECTORY_LIMIT])


def _reserved_container_ids(container_ids) -> set[int]:
    return set(ManifestContainer.objects.filter(container_id__in=container_ids,
                                                manifest__status__in=services.RESERVING)
               .values_list("container_id", flat=True))


def _loadable_containers(scope: Scope, organization_id: int, kind: str | None = None) -> list:
    """The unit's containers in stock that a manifest could take (weighed, not on another open manifest)."""
    containers = list(tracking.containers_for(scope, holder=organization_id, in_stock=True)
                      .filter(status__in=services.LOADABLE, net_weight_tonnes__isnull=False)
                      .order_by("waste_id", "stored_at", "id")[:500])
    reserved = _reserved_container_ids([c.pk for c in containers])
    containers = [c for c in containers if c.pk not in reserved]
    rules = kinds.find(kind)
    if rules is not None:
        containers = [c for c in containers if rules.carries(c.waste_id)]
    return containers


def _posted_legs(post) -> list[dict]:
    legs = []
    for index in range(2):
        transporter = (post.get(f"leg{index}_transporter") or "").strip()
        if not transporter:
            continue
        legs.append({"transporter_id": _int(transporter), "vehicle_id": _int(post.get(f"leg{index}_vehicle")),
                     "driver_name": post.get(f"leg{index}_driver_name", ""),
                     "driver_phone": post.get(f"leg{index}_driver_phone", "")})
    return legs


def _posted_lines(post) -> tuple[list[dict], list[dict]]:
    """Typed lines (general industrial solid waste): the rows filled in, and every row to show again
    (each shown row knows which filled row it is, to put the services' 'lines.<n>.<field>' errors next to it)."""
    codes, names = post.getlist("line_code"), post.getlist("line_name")
    tonnes, forms = post.getlist("line_tonnes"), post.getlist("line_form")
    rows, shown = [], []
    for index in range(max(len(codes), len(names), len(tonnes), BLANK_LINES)):
        row = {"general_code": codes[index].strip() if index < len(codes) else "",
               "waste_name": names[index].strip() if index < len(names) else "",
               "tonnes": tonnes[index].strip() if index < len(tonnes) else "",
               "physical_form": forms[index].strip() if index < len(forms) else ""}
        shown.append({"values": row, "filled": len(rows) if any(row.values()) else None})
        if any(row.values()):
            rows.append(row)
    return rows, shown


def _line_errors(shown: list[dict], errors: dict) -> list[dict]:
    for row in shown:
        prefix = f"lines_{row['filled']}_"
        row["errors"] = {key.removeprefix(prefix): value for key, value in errors.items()
                         if row["filled"] is not None and key.startswith(prefix)}
    return shown


def _receiver_id(post) -> int | None:
    """The receiver picked from the list, or typed by USCC (which wins)."""
    uscc = (post.get("receiver_uscc") or "").strip().upper()
    if uscc:
        found = Organization.objects.filter(uscc=uscc).values_list("pk", flat=True).first()
        if found is None:
            message = _("no organization with USCC %(u)s") % {"u": uscc}
            raise ValidationFailed(message, errors=[{"field": "receiver_uscc", "message": message}])
        return found
    return _int(post.get("receiver"))


@login_required
@require_http_methods(["GET", "POST"])
def manifest_create(request):
    scope = request_scope(request)
    generators = tracking.recording_organizations(scope)
    if not generators:
        messages.error(request, _("Only the administrators and members of a generator or collector open "
                                  "transfer manifests."))
        return redirect("manifests:list")
    chosen = _int(request.POST.get("generator") or request.GET.get("generator"))
    generator = generators[0] if chosen is None else next((o for o in generators if o.pk == chosen), None)
    if generator is None:
        raise Http404(_("organization not found"))
    posted = request.POST if request.method == "POST" else {}
    kind = (posted.get("kind") if posted else request.GET.get("kind")) or kinds.DEFAULT
    rules = kinds.find(kind) or kinds.get(kinds.DEFAULT)  # an unknown kind is refused by the service
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    status = 200
    line_rows = [{"values": {}, "filled": None} for _index in range(BLANK_LINES)]
    if request.method == "POST":
        lines, line_rows = _posted_lines(request.POST)
        codes = _unique(request.POST.getlist("container") + _codes(request.POST.get("codes", "")))
        try:
            manifest = services.create_manifest(
                scope=scope, kind=kind, purpose=request.POST.get("purpose") or Purpose.TRANSFER,
                generator_id=generator.pk, receiver_id=_receiver_id(request.POST),
                generator_site_id=_int(request.POST.get("generator_site")), legs=_posted_legs(request.POST),
                container_codes=codes if not rules.typed_lines else [],
                lines=[{**row, "planned_method": request.POST.get("planned_method") or None} for row in lines]
                if rules.typed_lines else [],
                planned_method=(request.POST.get("planned_method") or None) if not rules.typed_lines else None,
                emergency_measures=request.POST.get("emergency_measures", ""), note=request.POST.get("note", ""))
        except WufeiError as exc:
            messages.error(request, exc.message)
            errors, problems, status = _field_errors(exc), _problems(exc), exc.status
        else:
            count = manifest.lines.count()
            messages.success(request, ngettext(
                "Draft manifest saved with %(n)d line. Check it, then sign and submit it.",
                "Draft manifest saved with %(n)d lines. Check it, then sign and submit it.", count) % {"n": count})
            return redirect("manifests:detail", manifest.pk)
    vehicles = list(Vehicle.objects.filter(organization__is_transporter=True, is_active=True,
                                           organization__status=Organization.Status.ACTIVE)
                    .select_related("organization").order_by("organization__name", "organization_id", "plate")
                    [:DIRECTORY_LIMIT])
    return render(request, "manifests/create.html", {
        "generators": generators, "generator": generator, "kind": kind, "kinds": kinds.choices(),
        "typed_lines": rules.typed_lines,
        "purposes": [(value, label) for value, label in Purpose.choices if value in CREATE_PURPOSES],
        "receivers": _directory(Q(is_receiver=True) | Q(is_collector=True)),
        "transporters": _directory(Q(is_transporter=True)), "vehicles": vehicles,
        "sites": list(Site.objects.filter(organization=generator, is_active=True).order_by("code")),
        "containers": _loadable_containers(scope, generator.pk, kind) if not rules.typed_lines else [],
        "checked": set(request.POST.getlist("container")) if posted else set(),
        "methods": _treatment_methods(), "posted": posted, "line_rows": _line_errors(line_rows, errors),
        "errors": errors, "problems": problems,
    }, status=status)


# --- one manifest ----------------------------------------------------------------------------------

def _revision_changes(revision: Revision, methods: dict, sites: dict) -> list[tuple[str, str]]:
    rows = []
    for field, value in revision.changes.items():
        if field == "lines":
            for position, changes in value.items():
                for name, line_value in changes.items():
                    label = _("Line %(n)s: %(field)s") % {"n": position, "field": REVISION_FIELDS.get(name, name)}
                    rows.append((label, methods.get(line_value, line_value) or "—"))
        elif field == "receiver_site_id":
            rows.append((REVISION_FIELDS[field], sites.get(_int(value), value) or "—"))
        else:
            rows.append((REVISION_FIELDS.get(field, field), value or "—"))
    return rows


def _detail_context(request, manifest_id: int, *, errors: dict | None = None, posted=None,
                    problems: list | None = None) -> dict:
    scope = request_scope(request)
    manifest = services.get_manifest(scope, manifest_id)
    roles = services.roles_of(scope, manifest)
    generator_writes = _writes_for(scope, manifest.generator_id)
    writable_party = any(_writes_for(scope, pk) for pk in set().union(*services.parties(manifest).values()))
    lines = list(manifest.lines.select_related("waste", "planned_method", "method").order_by("position"))
    carried = list(manifest.carried.select_related("container", "line").order_by("line__position", "pk"))
    for line in lines:
        line.entries = [entry for entry in carried if entry.line_id == line.pk]
    signatures = list(manifest.signatures.select_related("organization", "user", "leg").order_by("signed_at", "pk"))
    for signature in signatures:
        signature.label = SIGNED_STEP_LABELS.get(signature.step, signature.step)
    methods = _treatment_methods()
    method_names = {m.code: f"{m.code} {m.name_zh}" for m in methods}
    receiver_sites = list(Site.objects.filter(organization=manifest.receiver, is_active=True).order_by("code"))
    site_names = {site.pk: site.name for site in receiver_sites}
    revisions = list(manifest.revisions.select_related("requested_by").order_by("-created_at", "-id"))
    names = dict(Organization.objects.filter(pk__in={pk for r in revisions for pk in r.approvers})
                 .values_list("pk", "name"))
    for revision in revisions:
        revision.rows = _revision_changes(revision, method_names, site_names)
        revision.approver_names = [names.get(pk, pk) for pk in revision.approvers]
        revision.approved_names = [names.get(pk, pk) for pk in revision.approvals]
        revision.can_decide = revision.status == RevisionStatus.PENDING and any(
            _writes_for(scope, pk) and pk not in revision.approvals for pk in revision.approvers)
    steps = services.available_steps(scope, manifest)
    gate_steps = []
    if roles:
        for step in machine.next_steps(manifest.status):
            party = _party_for_step(manifest, step)
            if step not in steps and party is not None and step in GATE_STEPS and _step_allowed_now(manifest, step):
                gate_steps.append({"step": step, "label": STEP_LABELS[step], "party": party})
    editable = manifest.status == S.DRAFT and generator_writes
    stranded = services.stranded_containers(manifest) if generator_writes else []
    rules = kinds.get(manifest.kind)
    general_refused = generator_writes and rules.typed_lines and manifest.refused_tonnes > 0 \
        and manifest.status in (S.REFUSED, S.RECEIVED, S.PROCESSED) \
        and not manifest.followed_by.exclude(status=S.CANCELLED).exists()
    pending = any(r.status == RevisionStatus.PENDING for r in revisions)
    return {
        "manifest": manifest, "lines": lines, "legs": services.legs_of(manifest), "signatures": signatures,
        "revisions": revisions, "lineage": services.lineage(scope, manifest),
        "overdue": _is_overdue(manifest, timezone.now()), "roles": roles,
        "steps": [{"step": step, "label": STEP_LABELS[step]} for step in steps],
        "gate_steps": gate_steps, "editable": editable,
        "stock": _loadable_containers(scope, manifest.generator_id, manifest.kind)
        if editable and not rules.typed_lines else [], "typed_lines": rules.typed_lines,
        "methods": methods,
        "can_revise": writable_party and bool(signatures) and not pending
        and manifest.status not in (S.DRAFT, S.CANCELLED, S.REFUSED),
        "can_cancel_by_revision": manifest.status == S.IN_TRANSIT,
        "receiver_sites": receiver_sites,
        "stranded": stranded, "can_follow_up": bool(stranded) or general_refused,
        "follow_up_purposes": [(v, label) for v, label in Purpose.choices if v in FOLLOW_UP_PURPOSES],
        "receivers": _directory(Q(is_receiver=True) | Q(is_collector=True))
        if (stranded or general_refused) else [],
        "errors": errors or {}, "posted": posted or {}, "problems": problems or [],
    }


@login_required
@require_GET
@_not_found_is_404
def manifest_detail(request, manifest_id: int):
    return render(request, "manifests/detail.html", _detail_context(request, manifest_id))


def _detail_action(request, manifest_id: int, action, success: str):
    """Run a change posted from the manifest's page; on an error show the page again with what was typed."""
    try:
        result = action(request_scope(request))
    except NotFound:
        raise
    except WufeiError as exc:
        messages.error(request, exc.message)
        context = _detail_context(request, manifest_id, errors=_field_errors(exc), posted=request.POST,
                                  problems=_problems(exc))
        return render(request, "manifests/detail.html", context, status=exc.status)
    messages.success(request, success)
    target = result.pk if isinstance(result, Manifest) else manifest_id
    return redirect("manifests:detail", target)


@login_required
@require_POST
@_not_found_is_404
def edit_containers(request, manifest_id: int):
    """Scan containers onto a draft, or take them off."""
    if request.POST.get("action") == "remove":
        codes = _unique(request.POST.getlist("remove"))
        return _detail_action(request, manifest_id, lambda scope: services.remove_containers(
            scope=scope, manifest_id=manifest_id, version=_posted_version(request), codes=codes),
            ngettext("Removed %(n)d container.", "Removed %(n)d containers.", len(codes)) % {"n": len(codes)})
    codes = _unique(request.POST.getlist("container") + _codes(request.POST.get("codes", "")))
    return _detail_action(request, manifest_id, lambda scope: services.add_containers(
        scope=scope, manifest_id=manifest_id, version=_posted_version(request), codes=codes,
        planned_method=request.POST.get("planned_method") or None),
        ngettext("Added %(n)d container.", "Added %(n)d containers.", len(codes)) % {"n": len(codes)})


@login_required
@require_POST
@_not_found_is_404
def planned_methods(request, manifest_id: int):
    methods = {key.removeprefix("method_"): value for key, value in request.POST.items()
               if key.startswith("method_") and key.removeprefix("method_").isdigit()}
    return _detail_action(request, manifest_id, lambda scope: services.set_planned_methods(
        scope=scope, manifest_id=manifest_id, version=_posted_version(request),
        methods={k: v or None for k, v in methods.items()}), _("Intended methods saved."))


def _revision_changes_posted(manifest: Manifest, post) -> dict:
    """Only what differs from the manifest: fields left as they are ask for nothing."""
    changes: dict = {}
    for field in ("emergency_measures", "note"):
        if field in post and post[field].strip() != getattr(manifest, field):
            changes[field] = post[field].strip()
    if "receiver_site_id" in post and _int(post["receiver_site_id"]) != manifest.receiver_site_id:
        changes["receiver_site_id"] = _int(post["receiver_site_id"])
    for line in manifest.lines.order_by("position"):
        current = {"waste_name": line.waste_name, "planned_method_id": line.planned_method_id or "",
                   "method_id": line.method_id or "",
                   "processed_on": line.processed_on.isoformat() if line.processed_on else ""}
        for name in LINE_REVISABLE:
            key = f"line_{line.position}_{name}"
            if key in post and post[key].strip() != current[name]:
                changes.setdefault("lines", {}).setdefault(str(line.position), {})[name] = post[key].strip()
    return changes


@login_required
@require_POST
@_not_found_is_404
def revision_request(request, manifest_id: int):
    def action(scope):
        manifest = services.get_manifest(scope, manifest_id)
        services.request_revision(scope=scope, manifest_id=manifest_id, version=_posted_version(request),
                                  reason=request.POST.get("reason", ""),
                                  changes=_revision_changes_posted(manifest, request.POST),
                                  cancel=bool(request.POST.get("cancel")))
        return manifest

    return _detail_action(request, manifest_id, action,
                          _("The revision was requested; the other signed parties approve it."))


@login_required
@require_POST
@_not_found_is_404
def revision_decision(request, manifest_id: int, revision_id: int):
    scope = request_scope(request)
    if not Revision.objects.visible_to(scope).filter(pk=revision_id, manifest_id=manifest_id).exists():
        raise Http404(_("revision %(id)s not found") % {"id": revision_id})
    approve = request.POST.get("decision") == "approve"
    return _detail_action(request, manifest_id, lambda scope: services.decide_revision(
        scope=scope, revision_id=revision_id, approve=approve, comment=request.POST.get("comment", "")),
        _("Revision approved.") if approve else _("Revision rejected."))


@login_required
@require_POST
@_not_found_is_404
def follow_up(request, manifest_id: int):
    purpose = request.POST.get("purpose", "")
    return _detail_action(request, manifest_id, lambda scope: services.create_follow_up(
        scope=scope, manifest_id=manifest_id, purpose=purpose,
        receiver_id=_int(request.POST.get("receiver")) if purpose == Purpose.ONWARD else None),
        _("The follow-up manifest was drafted; check it, then sign and submit it."))


# --- signing ---------------------------------------------------------------------------------------

def _method_options(manifest: Manifest, lines: list, day: dt.date) -> None:
    """Per line: the methods the receiver's permit allows for the waste first, then every other code."""
    methods = _treatment_methods()
    for line in lines:
        permitted: list = []
        if line.waste_id:
            codes = {m.code for p in permit_lines_covering(manifest.receiver, line.waste_id, on=day)
                     for m in p.methods.all()}
            permitted = [m for m in methods if m.code in codes]
        line.permitted_methods = permitted
        line.other_methods = [m for m in methods if m not in permitted]


def _step_data(step: str, post, manifest: Manifest) -> dict:
    if step in ("pickup", "handover"):
        return {"vehicle_id": _int(post.get("vehicle_id")), "driver_name": post.get("driver_name", ""),
                "driver_phone": post.get("driver_phone", "")}
    if step == "receive":
        codes = manifest.carried.values_list("container__code", flat=True)
        weights = {code: post.get(f"weight_{code}", "").strip() for code in codes}
        return {"refuse_all": bool(post.get("refuse_all")), "refused_containers": post.getlist("refused"),
                "refused_lines": [p for p in post.getlist("refused_line") if p.isdigit()],
                "container_weights": {code: value for code, value in weights.items() if value},
                "received_tonnes": post.get("received_tonnes", "").strip() or None,
                "refusal_reason": post.get("refusal_reason", "")}
    if step == "process":
        methods = {key.removeprefix("method_"): value for key, value in post.items()
                   if key.startswith("method_") and key.removeprefix("method_").isdigit() and value}
        return {"methods": methods, "processed_on": post.get("processed_on") or None}
    if step == "cancel":
        return {"reason": post.get("reason", "")}
    return {}


def _sign_context(scope: Scope, manifest: Manifest, step: str) -> dict:
    party = _party_for_step(manifest, step)
    today = timezone.localdate()
    lines = list(manifest.lines.select_related("waste", "planned_method").order_by("position"))
    context = {"manifest": manifest, "step": step, "step_label": STEP_LABELS[step], "party": party,
               "legs": services.legs_of(manifest), "lines": lines, "today": today.isoformat()}
    if step in ("pickup", "handover") and party is not None:
        context["vehicles"] = list(Vehicle.objects.filter(organization=party, is_active=True).order_by("plate"))
        context["leg"] = services.leg_for_step(manifest, step)
    elif step == "receive":
        context["entries"] = list(manifest.carried.select_related("container", "line").order_by("line__position",
                                                                                                  "pk"))
    elif step == "process":
        accepted = [line for line in lines if line.accepted_tonnes > 0]
        _method_options(manifest, accepted, today)
        context["lines"] = accepted
        if manifest.received_at:
            context["received_on"] = timezone.localtime(manifest.received_at).date().isoformat()
    elif step == "submit":
        context["submission_problems"] = [message for _f, _c, message in
                                          services.submission_problems(manifest, day=today)]
    return context


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_is_404
def sign(request, manifest_id: int, step: str):
    """One step on a phone: what the step needs, one column, large buttons; the version travels with the form."""
    if step not in machine.STEPS:
        raise Http404(_("%(step)s is not a step") % {"step": step})
    scope = request_scope(request)
    manifest = services.get_manifest(scope, manifest_id)
    if not services.roles_of(scope, manifest) and not scope.is_platform_admin:
        raise DjangoPermissionDenied(_("Only the parties of a manifest sign it."))
    party = _party_for_step(manifest, step)
    if not _step_allowed_now(manifest, step) or party is None:
        message = _("Manifest %(number)s is %(status)s: '%(step)s' cannot be signed now.") % {
            "number": manifest, "status": manifest.get_status_display(), "step": STEP_LABELS[step]}
        return render(request, "manifests/conflict.html", {"manifest": manifest, "message": message}, status=409)
    own = step in services.available_steps(scope, manifest) or (
        step == "cancel" and _writes_for(scope, manifest.generator_id))
    if not own and step not in GATE_STEPS:
        raise DjangoPermissionDenied(_("This step is signed by %(name)s.") % {"name": party.name})
    gate = not own  # another party at the gate: the signing party types its signing code
    errors: dict[str, list[str]] = {}
    problems: list[str] = []
    status = 200
    posted = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        code = request.POST.get("signing_code", "").strip() if gate else None
        try:
            version = _posted_version(request)
            if gate and not code:
                message = _("type the signing code of %(name)s") % {"name": party.name}
                raise ValidationFailed(message, errors=[{"field": "signing_code", "message": _("is required")}])
            services.sign(scope=scope, manifest_id=manifest.pk, step=step, version=version,
                          data=_step_data(step, request.POST, manifest), signing_code=code,
                          signer_name=request.POST.get("signer_name", "").strip())
        except NotFound:
            raise
        except Conflict as exc:
            return render(request, "manifests/conflict.html", {"manifest": manifest, "message": exc.message,
                                                               "step": step}, status=409)
        except WufeiError as exc:
            messages.error(request, exc.message)
            errors, problems, status = _field_errors(exc), _problems(exc), exc.status
            if exc.code in ("signing_code_wrong", "signing_code_locked", "signing_code_missing",
                            "signing_code_too_short"):
                errors.setdefault("signing_code", []).append(exc.message)
            manifest = services.get_manifest(scope, manifest_id)
        else:
            messages.success(request, _("Signed: %(step)s.") % {"step": STEP_LABELS[step]})
            return redirect("manifests:detail", manifest.pk)
    context = _sign_context(scope, manifest, step)
    for entry in context.get("entries", []):
        entry.posted_weight = posted.get(f"weight_{entry.container.code}", "") if posted else ""
    for line in context["lines"]:
        line.chosen_method = (posted.get(f"method_{line.position}") if posted else None) or line.planned_method_id
    context.update({"gate": gate, "errors": errors, "problems": problems, "posted": posted,
                    "refused": set(posted.getlist("refused")) if posted else set(),
                    "refused_lines": set(posted.getlist("refused_line")) if posted else set()})
    return render(request, "manifests/sign.html", context, status=status)


# --- bulk signing ----------------------------------------------------------------------------------

def _awaiting(scope: Scope, step: str) -> list[Manifest]:
    """Manifests waiting for the caller's pickup (as first carrier) or check-in (as receiver)."""
    if step == "pickup":
        candidates = services.manifests_for(scope, status=S.SUBMITTED).filter(
            legs__position=1, legs__transporter_id__in=scope.organization_ids)
    else:
        candidates = services.manifests_for(scope, status=S.IN_TRANSIT).filter(
            receiver_id__in=scope.writable_organization_ids)
    candidates = candidates.distinct().order_by("submitted_at", "pk")[:BULK_LIMIT]
    return [m for m in candidates if step in services.available_steps(scope, m)]


@login_required
@require_http_methods(["GET", "POST"])
def bulk_sign(request):
    scope = request_scope(request)
    step = request.POST.get("step") or request.GET.get("step") or ""
    if step not in BULK_STEPS:
        step = "pickup" if _awaiting(scope, "pickup") or not _awaiting(scope, "receive") else "receive"
    results = []
    status = 200
    if request.method == "POST":
        items = []
        for value in request.POST.getlist("manifest"):
            manifest_id, _sep, version = value.partition(":")
            if _int(manifest_id) is not None:
                items.append({"id": _int(manifest_id), "version": _int(version)})
        if not items:
            messages.error(request, _("Choose the manifests to sign."))
            status = 422
        else:
            data = {}
            if step == "pickup":
                data = {key: value for key, value in (("vehicle_id", _int(request.POST.get("vehicle_id"))),
                                                      ("driver_name", request.POST.get("driver_name", "").strip()))
                        if value}
            results = services.bulk_sign(scope=scope, step=step, items=items, data=data)
            numbers = dict(Manifest.objects.visible_to(scope).filter(pk__in=[i["id"] for i in items])
                           .values_list("pk", "number"))
            for result in results:
                result["label"] = result.get("number") or numbers.get(result["id"]) or f"#{result['id']}"
                if not result["ok"]:
                    result["message"] = result["error"].get("message", "")
            signed = sum(1 for r in results if r["ok"])
            if signed:
                messages.success(request, _("Signed %(ok)d of %(n)d manifests.") % {"ok": signed, "n": len(results)})
            else:
                messages.error(request, _("No manifest was signed."))
                status = 422
    manifests = _awaiting(scope, step)
    carriers = {leg.transporter_id for m in manifests for leg in m.legs.all() if leg.position == 1} \
        if step == "pickup" else set()
    return render(request, "manifests/bulk_sign.html", {
        "step": step, "step_label": STEP_LABELS[step], "steps": [(s, STEP_LABELS[s]) for s in BULK_STEPS],
        "manifests": manifests, "results": results,
        "vehicles": list(Vehicle.objects.filter(organization_id__in=carriers & scope.organization_ids,
                                                is_active=True).select_related("organization").order_by("plate")),
    }, status=status)


# --- the gate signing code -------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def signing_code(request):
    """An organization's administrators set the code its staff type at the gate on another party's phone."""
    scope = request_scope(request)
    organizations = list(Organization.objects.filter(pk__in=scope.admin_organization_ids).order_by("name"))
    errors: dict[str, list[str]] = {}
    status = 200
    chosen = _int(request.POST.get("organization"))
    if request.method == "POST":
        try:
            if request.POST.get("code", "") != request.POST.get("confirm", ""):
                message = _("the two codes differ")
                raise ValidationFailed(message, errors=[{"field": "confirm", "message": message}])
            services.set_signing_code(scope=scope, organization_id=chosen, code=request.POST.get("code", ""))
        except WufeiError as exc:
            messages.error(request, exc.message)
            errors, status = _field_errors(exc), exc.status
        else:
            name = next((o.name for o in organizations if o.pk == chosen), "")
            messages.success(request, _("The signing code of %(name)s was set.") % {"name": name})
            return redirect("manifests:signing_code")
    with_code = set(SigningCode.objects.filter(organization__in=organizations).values_list("organization_id",
                                                                                          flat=True))
    renew = services.signing_codes_to_renew([o.pk for o in organizations])
    for organization in organizations:
        organization.has_signing_code = organization.pk in with_code
        organization.renew_signing_code = organization.pk in renew
    return render(request, "manifests/signing_code.html", {
        "organizations": organizations, "errors": errors, "chosen": chosen}, status=status)


# --- the organization page's section ---------------------------------------------------------------

def _organization_section(scope: Scope, organization: Organization) -> dict:
    manifests = services.manifests_for(scope, organization=organization.pk)
    counts = dict(manifests.order_by().values_list("status").annotate(n=Count("pk")))
    return {
        "counts": [{"status": value, "label": label, "count": counts.get(value, 0)} for value, label in S.choices
                   if counts.get(value)],
        "total": sum(counts.values()),
        "latest": list(manifests.order_by("-created_at", "-id")[:5]),
        "can_create": any(o.pk == organization.pk for o in tracking.recording_organizations(scope)),
        "is_member": organization.pk in scope.organization_ids,
        "can_set_code": organization.pk in scope.admin_organization_ids,
    }


register_organization_section(OrganizationSection(
    key="manifests", title=gettext_lazy("Transfer manifests"), template="manifests/_organization_section.html",
    data=_organization_section, order=30,
))


# --- the carrier's day on a phone (issue 8) --------------------------------------------------------

TODAY_LIMIT = 200


def _tonnes_text(value) -> str:
    """1.500000 → '1.5' (a phone screen has no room for six decimals that are zero)."""
    return format(value.normalize(), "f") if value is not None else ""


def _today_card(manifest: Manifest, step: str | None, carrier_ids: set[int]) -> dict:
    """What a driver needs at the gate: who, where, what, how much, and the step to sign."""
    lines = list(manifest.lines.select_related("waste").order_by("position"))
    for line in lines:
        line.tonnes_text = _tonnes_text(line.shipped_tonnes)
    legs = services.legs_of(manifest)
    party = _party_for_step(manifest, step) if step else None
    site = manifest.generator_site
    return {
        "manifest": manifest, "lines": lines, "legs": legs, "step": step,
        "step_label": STEP_LABELS[step] if step else "",
        "party": party, "gate": party is not None and party.pk not in carrier_ids,
        "packages": sum(line.container_count for line in lines), "tonnes": _tonnes_text(manifest.shipped_tonnes),
        "address": (site.address if site is not None and site.address else "") or manifest.generator.address,
    }


@login_required
@require_GET
def today(request):
    """A carrier's (and its drivers') day on a phone: loads to pick up at a generator's gate, loads on the road to
    hand over to the next carrier or the receiver (who signs on the driver's phone with its gate code)."""
    scope = request_scope(request)
    carriers = list(Organization.objects.filter(pk__in=scope.organization_ids, is_transporter=True)
                    .order_by("name", "pk"))
    carrier_ids = {o.pk for o in carriers}
    end_of_today = timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time.min))
    pickups, on_the_road, to_take_over = [], [], []
    if carrier_ids:
        base = services.manifests_for(scope).select_related("generator_site")
        first_legs = base.filter(status=S.SUBMITTED, submitted_at__lt=end_of_today, legs__position=1,
                                 legs__transporter_id__in=carrier_ids).distinct().order_by("submitted_at", "pk")
        pickups = [_today_card(m, "pickup", carrier_ids) for m in first_legs[:TODAY_LIMIT]]
        # loads a leg of ours has taken and not yet handed on
        holding = base.filter(status=S.IN_TRANSIT, legs__transporter_id__in=carrier_ids, legs__taken_at__isnull=False,
                              legs__handed_at__isnull=True).distinct().order_by("picked_up_at", "pk")
        now = timezone.now()
        for manifest in holding[:TODAY_LIMIT]:
            waiting = services.leg_for_step(manifest, "handover")
            if waiting is not None and waiting.transporter_id in carrier_ids:
                continue  # the next leg is ours too: it is listed below as a load to take over
            card = _today_card(manifest, "handover" if waiting is not None else "receive", carrier_ids)
            card["overdue"] = _is_overdue(manifest, now)
            on_the_road.append(card)
        take_over = base.filter(status=S.IN_TRANSIT, legs__transporter_id__in=carrier_ids,
                                legs__taken_at__isnull=True).distinct().order_by("picked_up_at", "pk")
        for manifest in take_over[:TODAY_LIMIT]:
            waiting = services.leg_for_step(manifest, "handover")
            if waiting is not None and waiting.transporter_id in carrier_ids:
                to_take_over.append(_today_card(manifest, "handover", carrier_ids))
    return render(request, "manifests/today.html", {
        "carriers": carriers, "pickups": pickups, "on_the_road": on_the_road, "to_take_over": to_take_over,
        "today": timezone.localdate(),
    })
