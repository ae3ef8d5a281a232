"""Manifests demo: a manifest for every transfer of the tracking demo's year, and recent manifests in every state.

`build(stdout)` is called by `wufei demo` after the tracking demo (whose containers it ships) and
before the ledgers demo (whose ledger of the current year then includes the recent manifests'
scans), inside `audit.acting_as("demo")`. Deterministic: seeded by unit and pickup; only the
dates of the recent part move with the day of the build.

History (reconstructed from the scan record). The tracking demo writes each pickup of the year
(and of the current year's first weeks) as container scans loaded → handed over (by the generator
to the receiver) → received → utilized / disposed, without a carrier and without manifests.
`import_history` groups the `handed_over` scans that carry no manifest reference by (generator,
receiver, time): one group is one pickup and gets one manifest —
* kind medical when it carries HW01, hazardous otherwise; purpose transfer; the generator's
  storage facility (or production site) and the receiver's site of the `received` scans;
* one transport leg: the carrier of the generator's district (each unit keeps one contract
  carrier, drawn by vehicles; medical waste: the receiver if it runs vehicles, otherwise the
  district's medical waste carrier — 尚善物流 in Kaizhou (K §4.3), 嘉运环保物流 in Banan), one of
  its vehicles whose road transport permit is valid that day, and that vehicle's driver;
* lines per (waste code, name) with the weights of the handover scans (shipped = received =
  accepted: nothing was refused), the containers, the method and day of the final scans;
* signatures: submit 30 minutes before loading, pickup at loading, receipt and processing at
  the `received` and final scans; the status follows the scans (processed / received / in transit);
* numbers by the 14-digit rule (year of submission + the generator's region[:4] + a 6-digit
  serial in the order of submission); ManifestSequence is advanced so that live manifests continue
  the series.
The rows are written in bulk (`wufei.core.bulk`), with one audit link per
manifest (action "imported", a summary of the manifest). The carrier's custody is not in the
container history of these manifests: the scans hand the containers from the generator straight
to the receiver, and the transport leg is reconstructed, not scanned.

Live (the last four weeks, through the manifests, tracking, registry and cross-province services,
signed by the demo accounts where one belongs to the party — `generator` for 惠科金渝, `driver` for
渝南危运, `receiver` for 盛清 — and by scopes of the unit otherwise; each step runs with the
clock set to its time, as the ledgers demo does, and with an explicit `now`). New containers are
recorded for them with `tracking.services.bulk_record`; no history container is reused.
* 惠科金渝 (the `generator` account): processed loads to 璧山 (D10), 盛清 (R6, its receipt
  signed at the gate by the driver with 盛清's signing code) and 永川 (R4); a partial refusal at
  禾润中天 (one leaking IBC) with its return manifest; a whole refusal at 永川 sent onward to
  利特聚欣; a cancelled manifest whose containers wait on a draft; one submitted (for the `driver`
  to pick up), one in transit to 盛清 (for the `receiver` to receive) and one received by 盛清
  (to process).
* Weighbridge discrepancies beyond the 5 % tolerance: −9 % (惠科金渝 → 璧山) and +7 % (the
  largest Kaizhou industrial generator → 禾润中天).
* Cross-province: two fictitious licensed receivers registered as a platform administrator —
  in 内江市东兴区 (511011, Sichuan) and 清镇市 (520181, Guizhou), with their permits; regulator
  accounts `sichuan-province` and `guizhou-province` (and `chongqing-province` unless a demo
  regulator of 500000, `city-regulator`, exists). 惠科金渝's application for its pickling sludge
  (336-064-17, R4) to Sichuan goes through the whole consent chain and carries four manifests
  (three processed, one in transit); a point-to-point utilization exemption (点对点定向利用)
  covers its waste oil (900-249-08, R9) to Guizhou, with one processed manifest; Banan's largest
  surface-treatment unit (whose tonne bags wait for a transfer approval in the tracking demo) is
  refused by the destination.
* Small-volume collection (小微收运): the collector collects from two auto-repair shops and a school
  lab of Banan (one collection manifest each) and forwards the containers to 璧山, processed,
  which closes the three collection manifests.
* Overdue: a load of Banan's largest other industrial unit to 长寿, in transit for ten days.
* Gate signing codes (SIGNING_CODES): 惠科金渝 482913, 渝南危运 593024, 盛清 604135.
Built in the first weeks of January, the recent part is squeezed into the days since 1 January
(nothing of it falls in the demo year); the overdue load is then not yet overdue.
"""

import contextlib
import datetime as dt
import itertools
import random
import time
from collections import Counter, defaultdict
from decimal import Decimal
from operator import itemgetter
from unittest import mock
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from wufei.catalog import streams
from wufei.catalog.services import industrial_source_q
from wufei.core import audit, bulk
from wufei.core.scope import Scope, scope_for
from wufei.demo.registry import (
    ADMIN_SCOPE,
    BANAN,
    DEMO_ACTOR,
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    GIVEN,
    KAIZHOU,
    SURNAMES,
    is_demo_user,
    uscc_for,
)
from wufei.demo.tracking import CODES, INCINERATORS, demo_year
from wufei.demo.writer import Writer
from wufei.manifests import crossprovince, services
from wufei.manifests.models import (
    CrossProvinceApplication,
    CrossProvinceRule,
    Manifest,
    ManifestContainer,
    ManifestKind,
    ManifestLine,
    ManifestSequence,
    ManifestStatus,
    Purpose,
    Reception,
    Signature,
    SignatureMethod,
    SigningCode,
    TransportLeg,
)
from wufei.registry import services as registry
from wufei.registry.models import Organization, Site, Vehicle
from wufei.tracking import services as tracking
from wufei.tracking.models import Container, ScanEvent, ScanKind

SEED = 2026
LOCAL = ZoneInfo("Asia/Shanghai")
KG = Decimal("0.001")
ZERO = Decimal(0)
S = ManifestStatus

HUIKE = "重庆惠科金渝光电科技有限公司"  # the `generator` account's unit
YUNAN = "重庆渝南危险货物运输有限公司"  # the `transporter` / `driver` accounts' unit
SHENGQING = "重庆盛清水处理科技有限公司"  # the `receiver` account's unit
SHUNDA, XINTONG = "重庆巴南区顺达物流有限公司", "重庆鑫通危险品运输有限公司"
HENGTONG = "重庆市开州区恒通危险货物运输有限公司"
BISHAN, HERUN = "重庆璧山危险废物焚烧处置有限公司", "重庆市禾润中天环保科技有限公司"
YONGCHUAN, LITE = "重庆永川有色金属再生利用有限公司", "重庆利特聚欣资源循环科技有限责任公司"
CHANGSHOU = "重庆长寿危险废物填埋处置有限公司"
COLLECTOR = "重庆巴渝小微危废收运服务有限公司"
MEDICAL_CARRIERS = {KAIZHOU: "重庆尚善物流有限公司", BANAN: "重庆嘉运环保物流有限公司"}
SIGNING_CODES = {HUIKE: "482913", YUNAN: "593024", SHENGQING: "604135"}
ACCOUNT_OF = {HUIKE: ("generator", "generator"), YUNAN: ("driver", "transporter"),
              SHENGQING: ("receiver", "receiver")}  # unit: (account signing its steps, its administrator)

# the cross-province receivers (fictitious names) and their permits
SICHUAN_RECEIVER = {
    "name": "四川川南环保资源再生有限公司", "region": "511011", "province": "510000", "authority": "四川省生态环境厅",
    "address": "四川省内江市东兴区椑木镇工业园区环保路18号", "lon": "105.108300", "lat": "29.548200",
    "industry": ("4220", "非金属废料和碎屑加工处理"), "site": "表面处理污泥及废矿物油综合利用车间",
    "permit": "川环危第511000012号", "lines": [("HW17", "20000", ["R4"]), ("HW08", "8000", ["R9"])],
}
GUIZHOU_RECEIVER = {
    "name": "贵州黔中再生资源利用有限公司", "region": "520181", "province": "520000", "authority": "贵州省生态环境厅",
    "address": "贵州省贵阳市清镇市站街镇循环经济工业园区黔中大道66号", "lon": "106.430500", "lat": "26.573800",
    "industry": ("4220", "非金属废料和碎屑加工处理"), "site": "废矿物油再生利用装置",
    "permit": "黔环危第520000031号", "lines": [("HW08", "15000", ["R9"]), ("HW49", "3000", ["D10"])],
}
REGULATORS = [  # (username, province, authority); Chongqing only when no demo regulator of 500000 exists
    ("chongqing-province", "500000", "重庆市生态环境局"),
    ("sichuan-province", "510000", "四川省生态环境厅"),
    ("guizhou-province", "520000", "贵州省生态环境厅"),
]

EMERGENCY = {
    ManifestKind.HAZARDOUS: "泄漏时立即用吸附材料围堵收集，防止进入雨水管网和土壤；"
                            "发生事故立即报告当地生态环境和应急管理部门（12369）",
    ManifestKind.MEDICAL: "包装破损或遗撒时立即用含氯消毒剂消毒并重新包装收集；"
                          "发生事故立即报告当地卫生健康和生态环境部门",
}
HISTORY_KINDS = (ScanKind.LOADED, ScanKind.HANDED_OVER, ScanKind.RECEIVED, ScanKind.UTILIZED, ScanKind.DISPOSED)
FINAL_KINDS = (ScanKind.UTILIZED, ScanKind.DISPOSED)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}"


def _text(value) -> str:
    """A decimal or a moment as the audit payload writes it."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return audit.plain(value)


def is_built() -> bool:
    """Whether the demo's manifests are there: one of the `generator` account's unit (rows, not audit events)."""
    return Manifest.objects.filter(generator__uscc=uscc_for(HUIKE, BANAN)).exists()


def build(stdout=None) -> dict:
    say = Writer(stdout)
    now = timezone.now()
    counts: dict = {}
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        started = time.perf_counter()
        counts.update(import_history())
        say(f"  history: {counts['history_manifests']} manifests of the scan record ({counts['history_lines']} lines, "
            f"{counts['history_containers']} containers, {counts['history_signatures']} signatures) "
            f"in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        live = _Live(now, say)
        counts.update(live.build())
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(live.statuses().items()))
        say(f"  live: {live.counts['manifests']} manifests through the services in "
            f"{time.perf_counter() - started:.1f} s ({statuses})")
        with connection.cursor() as cursor:  # statistics for the query planner after the bulk load
            for model in (Manifest, ManifestLine, ManifestContainer, TransportLeg, Signature):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return counts


# --- history: one manifest per pickup of the scan record -------------------------------------------

def history_pickups() -> dict[tuple[int, int, dt.datetime], list[dict]]:
    """The pickups of the scan record that no manifest covers: {(generator, receiver, handover time): containers}.

    A pickup is the `handed_over` scans without a manifest reference of one holder to one receiver at
    one moment; each container brings the weight at the handover, its loading time, and the
    `received` and final (utilized / disposed) scans that follow.
    """
    covered = set(ManifestContainer.objects.values_list("container_id", flat=True))
    rows = (ScanEvent.objects.filter(kind__in=HISTORY_KINDS, reference="")
            .order_by("container_id", "occurred_at", "id")
            .values_list("container_id", "kind", "occurred_at", "organization_id", "to_organization_id", "site_id",
                         "weight_tonnes", "method"))
    pickups = defaultdict(list)
    for container_id, own in itertools.groupby(rows.iterator(chunk_size=20000), key=itemgetter(0)):
        if container_id in covered:
            continue
        own = list(own)
        for index, (_c, kind, at, holder, to, _site, weight, _method) in enumerate(own):
            if kind != ScanKind.HANDED_OVER or to is None:
                continue
            loaded = next((e[2] for e in reversed(own[:index]) if e[1] == ScanKind.LOADED), None)
            received = final = None
            for event in own[index + 1:]:
                if event[1] == ScanKind.HANDED_OVER:
                    break
                if event[1] == ScanKind.RECEIVED and received is None and event[3] == to:
                    received = event
                elif event[1] in FINAL_KINDS and received is not None and final is None:
                    final = event
            pickups[(holder, to, at)].append({
                "container_id": container_id, "shipped": weight, "loaded_at": loaded,
                "received_at": received[2] if received else None, "site_id": received[5] if received else None,
                "received": received[6] if received else None,
                "final_at": final[2] if final else None, "method": final[7] if final else None})
    return pickups


class _Carriers:
    """Who carried a load: each unit's contract carrier of its district (by vehicles), medical waste by the
    district's medical waste carrier; a vehicle valid on the day and its driver."""

    def __init__(self):
        transporters = list(Organization.objects.filter(is_transporter=True, status=Organization.Status.ACTIVE)
                            .select_related("region"))
        self.vehicles = defaultdict(list)
        for vehicle in Vehicle.objects.filter(organization__in=transporters, is_active=True):
            self.vehicles[vehicle.organization_id].append(vehicle)
        for own in self.vehicles.values():
            own.sort(key=lambda v: v.plate)
        self.transporters = sorted((t for t in transporters if self.vehicles[t.pk]), key=lambda t: t.uscc)
        self.by_name = {t.name: t for t in self.transporters}
        self.contract: dict[int, Organization] = {}
        self.drivers: dict[int, tuple[str, str]] = {}

    def carrier(self, generator: Organization, receiver: Organization, medical: bool) -> Organization | None:
        if medical:
            if receiver.is_transporter and self.vehicles.get(receiver.pk):
                return receiver
            named = self.by_name.get(MEDICAL_CARRIERS.get(generator.region_id, ""))
            if named is not None:
                return named
        if generator.pk not in self.contract:
            local = [t for t in self.transporters if t.region_id == generator.region_id] or self.transporters
            if not local:
                return None
            rng = random.Random(f"{SEED}:{generator.uscc}:carrier")
            self.contract[generator.pk] = rng.choices(local, weights=[len(self.vehicles[t.pk]) for t in local])[0]
        return self.contract[generator.pk]

    def vehicle(self, transporter: Organization, day: dt.date, rng: random.Random) -> Vehicle | None:
        own = self.vehicles.get(transporter.pk) or []
        valid = [v for v in own if registry.vehicle_permit_valid(v, day)]
        return rng.choice(valid or own) if own else None

    def driver(self, vehicle: Vehicle | None) -> tuple[str, str]:
        if vehicle is None:
            return "", ""
        if vehicle.pk not in self.drivers:
            rng = random.Random(f"{SEED}:{vehicle.plate}:driver")
            self.drivers[vehicle.pk] = (_person(rng), _phone(rng))
        return self.drivers[vehicle.pk]


def _first_sites() -> dict[int, int]:
    """Each unit's storage facility (else its production site): where its loads leave from."""
    sites = {}
    for organization_id, kind, pk in Site.objects.filter(is_active=True, kind__in=(Site.Kind.STORAGE,
                                                                                     Site.Kind.PRODUCTION)) \
            .order_by("pk").values_list("organization_id", "kind", "pk"):
        if organization_id not in sites or (kind == Site.Kind.STORAGE and sites[organization_id][0] != kind):
            sites[organization_id] = (kind, pk)
    return {organization_id: pk for organization_id, (_kind, pk) in sites.items()}


def _values(model, chunk: list[int], *fields) -> dict[int, dict]:
    return {row["id"]: row for row in model.objects.filter(pk__in=chunk).values("id", *fields)}


def import_history() -> dict:
    """Write one manifest per pickup of the scan record (see the module docstring); returns counts."""
    pickups = history_pickups()
    counts = {"history_manifests": 0, "history_lines": 0, "history_containers": 0, "history_signatures": 0}
    if not pickups:
        return counts
    ids = sorted({e["container_id"] for own in pickups.values() for e in own})
    containers = {}
    for start in range(0, len(ids), 5000):
        containers.update(_values(Container, ids[start:start + 5000], "waste_id", "waste_name", "physical_form",
                                  "hazards", "packaging"))
    parties = {pk for key in pickups for pk in key[:2]}
    organizations = Organization.objects.select_related("region").in_bulk(parties)
    carriers = _Carriers()
    from_sites = _first_sites()

    def submitted(key):
        loaded = [e["loaded_at"] for e in pickups[key] if e["loaded_at"] is not None]
        return (min(loaded) if loaded else key[2] - dt.timedelta(minutes=10)) - dt.timedelta(minutes=30)

    order = sorted(pickups, key=lambda key: (submitted(key), key[0], key[1], key[2]))
    tables = {model: bulk.table(model) for model in (Manifest, ManifestLine, ManifestContainer, TransportLeg,
                                                          Signature)}
    line_count = sum(len({(containers[e["container_id"]]["waste_id"], containers[e["container_id"]]["waste_name"])
                          for e in pickups[key]}) for key in order)
    signature_count = sum(2 + (all(e["received_at"] for e in pickups[key]))
                          + (all(e["final_at"] for e in pickups[key])) for key in order)
    manifest_ids = iter(tables[Manifest].reserve_ids(len(order)))
    line_ids = iter(tables[ManifestLine].reserve_ids(line_count))
    entry_ids = iter(tables[ManifestContainer].reserve_ids(sum(len(pickups[key]) for key in order)))
    leg_ids = iter(tables[TransportLeg].reserve_ids(len(order)))
    signature_ids = iter(tables[Signature].reserve_ids(signature_count))
    serials = dict(ManifestSequence.objects.values_list("prefix", "last"))
    rows = {model: [] for model in tables}
    links = []
    for key in order:
        generator_id, receiver_id, handed_at = key
        generator, receiver = organizations[generator_id], organizations[receiver_id]
        own = sorted(pickups[key], key=itemgetter("container_id"))
        medical = any(streams.is_medical_code(containers[e["container_id"]]["waste_id"]) for e in own)
        kind = ManifestKind.MEDICAL if medical else ManifestKind.HAZARDOUS
        submitted_at = submitted(key)
        loaded = [e["loaded_at"] for e in own if e["loaded_at"] is not None]
        picked_up_at = min(loaded) if loaded else handed_at
        received = all(e["received_at"] is not None for e in own)
        processed = received and all(e["final_at"] is not None for e in own)
        received_at = max(e["received_at"] for e in own) if received else None
        processed_at = max(e["final_at"] for e in own) if processed else None
        status = S.PROCESSED if processed else S.RECEIVED if received else S.IN_TRANSIT
        year = timezone.localtime(submitted_at).year
        prefix = f"{year:04d}{generator.region_id[:4]}"
        serials[prefix] = serials.get(prefix, 0) + 1
        number = f"{prefix}{serials[prefix]:06d}"
        manifest_id = next(manifest_ids)
        shipped = sum((e["shipped"] for e in own), ZERO)
        received_tonnes = sum((e["received"] for e in own), ZERO) if received else None
        sites = Counter(e["site_id"] for e in own if e["site_id"] is not None)
        rows[Manifest].append({
            **tables[Manifest].defaults, "id": manifest_id, "created_at": submitted_at,
            "updated_at": processed_at or received_at or picked_up_at, "version": 1, "number": number,
            "kind": str(kind), "purpose": str(Purpose.TRANSFER), "status": str(status), "follows_id": None,
            "generator_id": generator_id, "generator_site_id": from_sites.get(generator_id),
            "receiver_id": receiver_id, "receiver_site_id": sites.most_common(1)[0][0] if sites else None,
            "emergency_measures": EMERGENCY[kind], "note": "", "cross_province_basis": "", "application_id": None,
            "plan_warning": "", "shipped_tonnes": shipped, "received_tonnes": received_tonnes,
            "accepted_tonnes": received_tonnes if received else ZERO, "refused_tonnes": ZERO,
            "reception": str(Reception.ACCEPTED) if received else "", "refusal_reason": "",
            "discrepancy": bool(received and shipped and abs(received_tonnes - shipped) * 100 / shipped > 5),
            "discrepancy_percent": ((abs(received_tonnes - shipped) * 100 / shipped).quantize(Decimal("0.001"))
                                    if received and shipped else None),
            "submitted_at": submitted_at, "picked_up_at": picked_up_at, "received_at": received_at,
            "processed_at": processed_at, "cancelled_at": None, "cancel_reason": "", "created_by_id": None})
        lines = {}
        for entry in own:
            box = containers[entry["container_id"]]
            lines.setdefault((box["waste_id"], box["waste_name"]), []).append(entry)
        for position, ((waste_id, waste_name), carried) in enumerate(lines.items(), start=1):
            box = containers[carried[0]["container_id"]]
            line_id = next(line_ids)
            tonnes = sum((e["shipped"] for e in carried), ZERO)
            methods = Counter(e["method"] for e in carried if e["method"])
            method = methods.most_common(1)[0][0] if methods and processed else None
            rows[ManifestLine].append({
                **tables[ManifestLine].defaults,
                "id": line_id, "manifest_id": manifest_id, "position": position, "waste_id": waste_id,
                "general_code": "", "waste_name": waste_name, "physical_form": box["physical_form"],
                "hazards": box["hazards"], "packaging": box["packaging"], "container_count": len(carried),
                "shipped_tonnes": tonnes,
                "received_tonnes": sum((e["received"] for e in carried), ZERO) if received else None,
                "accepted_tonnes": sum((e["received"] for e in carried), ZERO) if received else ZERO,
                "refused_tonnes": ZERO,
                "planned_method_id": methods.most_common(1)[0][0] if methods else None, "method_id": method,
                "processed_on": (timezone.localtime(max(e["final_at"] for e in carried)).date() if method else None)})
            for entry in carried:
                rows[ManifestContainer].append({
                    **tables[ManifestContainer].defaults,
                    "id": next(entry_ids), "manifest_id": manifest_id, "line_id": line_id,
                    "container_id": entry["container_id"], "shipped_tonnes": entry["shipped"],
                    "received_tonnes": entry["received"] if received else None, "refused": False})
        rng = random.Random(f"{SEED}:{number}")
        transporter = carriers.carrier(generator, receiver, medical)
        vehicle = carriers.vehicle(transporter, timezone.localtime(picked_up_at).date(), rng) if transporter else None
        driver, phone = carriers.driver(vehicle)
        leg_id = next(leg_ids)
        if transporter is not None:
            rows[TransportLeg].append({
                **tables[TransportLeg].defaults,
                "id": leg_id, "manifest_id": manifest_id, "position": 1, "transporter_id": transporter.pk,
                "vehicle_id": vehicle.pk if vehicle else None, "driver_name": driver, "driver_phone": phone,
                "start_place": generator.address[:200], "end_place": receiver.address[:200],
                "taken_at": picked_up_at, "handed_at": received_at})
        signatures = [("submit", generator, None, generator.contact_name, submitted_at),
                      ("pickup", transporter, leg_id if transporter else None, driver, picked_up_at)]
        if received:
            signatures.append(("receive", receiver, None, receiver.contact_name, received_at))
        if processed:
            signatures.append(("process", receiver, None, receiver.contact_name, processed_at))
        for step, organization, leg, signer, signed_at in signatures:
            pk = next(signature_ids)
            if organization is None:
                continue
            rows[Signature].append({
                **tables[Signature].defaults,
                "id": pk, "manifest_id": manifest_id, "step": step, "leg_id": leg, "organization_id": organization.pk,
                "user_id": None, "signer_name": (signer or organization.name)[:150],
                "method": str(SignatureMethod.SESSION), "signed_at": signed_at, "longitude": None, "latitude": None})
        links.append(("manifests.manifest", str(manifest_id), "imported", {
            "source": "reconstructed from the container scan record (tracking demo)", "number": number,
            "kind": str(kind), "status": str(status), "generator_id": generator_id, "receiver_id": receiver_id,
            "transporter_id": transporter.pk if transporter else None, "containers": len(own),
            "shipped_tonnes": _text(shipped), "submitted_at": _text(submitted_at),
            "picked_up_at": _text(picked_up_at), "received_at": _text(received_at) if received_at else None,
            "processed_at": _text(processed_at) if processed_at else None}))
    for model, table in tables.items():
        table.insert(rows[model])
    audit.append_many(links)
    for prefix, last in serials.items():
        sequence, _created = ManifestSequence.objects.get_or_create(prefix=prefix)
        if sequence.last < last:
            ManifestSequence.objects.filter(pk=sequence.pk).update(last=last)
    counts.update(history_manifests=len(rows[Manifest]), history_lines=len(rows[ManifestLine]),
                  history_containers=len(rows[ManifestContainer]), history_signatures=len(rows[Signature]))
    return counts


# --- live: recent manifests through the services ---------------------------------------------------

@contextlib.contextmanager
def _clock(moment: dt.datetime):
    """Run the service calls inside as of `moment` (a past time): what they stamp and check."""
    moment = moment.astimezone(dt.UTC)
    with mock.patch.object(timezone, "now", lambda: moment):
        yield moment


class _Live:
    """The recent manifests (see the module docstring), in the order they happened."""

    WINDOW = dt.timedelta(days=31)

    def __init__(self, now: dt.datetime, say):
        self.now = now
        self.say = say
        self.local_now = timezone.localtime(now)
        floor = dt.datetime(self.local_now.year, 1, 1, 2, tzinfo=LOCAL)
        self.factor = min(1.0, (now - floor) / self.WINDOW)
        self.counts = Counter()
        self.manifests: dict[str, Manifest] = {}
        self.touched: set[int] = set()
        self.carriers = _Carriers()
        self.sites = _first_sites()
        self.User = get_user_model()

    # time ----------------------------------------------------------------------------------------
    def day(self, days_ago: int, hour: float) -> dt.datetime:
        """`days_ago` days before today at `hour` (local)."""
        day = self.local_now.date() - dt.timedelta(days=days_ago)
        return self._squeeze(dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL) + dt.timedelta(hours=hour))

    def ago(self, hours: float) -> dt.datetime:
        return self._squeeze(self.now - dt.timedelta(hours=hours))

    def _squeeze(self, moment: dt.datetime) -> dt.datetime:
        moment = min(moment, self.now - dt.timedelta(minutes=5))
        if self.factor < 1:
            moment = self.now - (self.now - moment) * self.factor
        return moment

    # parties -------------------------------------------------------------------------------------
    def org(self, name: str) -> Organization:
        return Organization.objects.select_related("region").get(name=name)

    def _user(self, username: str, organization: Organization | None = None):
        user = self.User.objects.filter(username=username).first()
        if user is None or not is_demo_user(user):
            return None
        scope = scope_for(user)
        if organization is not None and organization.pk not in scope.organization_ids:
            return None
        return scope

    def _unit_scope(self, organization: Organization) -> Scope:
        ids = frozenset({organization.pk})
        return Scope(username=DEMO_ACTOR, organization_ids=ids, writable_organization_ids=ids,
                     admin_organization_ids=ids)

    def scope(self, organization: Organization) -> Scope:
        """Who signs for the unit: its demo account, else a member's scope of the unit."""
        account = ACCOUNT_OF.get(organization.name)
        return (self._user(account[0], organization) if account else None) or self._unit_scope(organization)

    def admin_scope(self, organization: Organization) -> Scope:
        account = ACCOUNT_OF.get(organization.name)
        return (self._user(account[1], organization) if account else None) or self._unit_scope(organization)

    # containers ----------------------------------------------------------------------------------
    def record(self, unit: Organization, code: str, count: int, at: dt.datetime, *, nominal: str, packaging: str,
               volume: int | None = None) -> list[str]:
        """`count` new containers of `unit`, produced over the hours before `at`; weights ±12 % of `nominal`."""
        form, name, _options = CODES[code]
        rng = random.Random(f"{SEED}:{unit.name}:{code}:{at.isoformat()}")
        storage = Site.objects.filter(organization=unit, kind=Site.Kind.STORAGE, is_active=True).order_by("pk").first()
        production = Site.objects.filter(organization=unit, kind=Site.Kind.PRODUCTION).order_by("pk").first()
        steps = list(tracking.FIVE_STEP_KINDS) if storage else list(tracking.FIVE_STEP_KINDS[:-1])
        batches = []
        for index in range(count):
            weight = (Decimal(nominal) * Decimal(str(rng.uniform(0.88, 1.12)))).quantize(KG)
            batch = {"waste_code": code, "waste_name": name, "physical_form": form, "packaging": packaging,
                     "net_weight_tonnes": weight, "steps": steps,
                     "produced_at": at - dt.timedelta(hours=6 * (count - index))}
            if volume:
                batch["volume_litres"] = volume
            if production is not None:
                batch["site_id"] = production.pk
            if storage is not None:
                batch["storage_site_id"] = storage.pk
                batch["storage_location"] = f"{code[-2:]}区"
            batches.append(batch)
        with _clock(at):
            recorded = tracking.bulk_record(scope=ADMIN_SCOPE, organization_id=unit.pk, batches=batches)
        self.counts["containers"] += len(recorded)
        return [row.code for row in recorded]

    # manifests -----------------------------------------------------------------------------------
    def leg(self, carrier: Organization, generator: Organization, receiver: Organization, at: dt.datetime) -> dict:
        rng = random.Random(f"{SEED}:{carrier.name}:{at.isoformat()}")
        valid = [v for v in self.carriers.vehicles[carrier.pk]
                 if v.transport_permit_valid_until >= self.local_now.date() + dt.timedelta(days=30)]
        vehicle = rng.choice(valid or self.carriers.vehicles[carrier.pk])
        driver, phone = self.carriers.driver(vehicle)
        return {"transporter_id": carrier.pk, "vehicle_id": vehicle.pk, "driver_name": driver, "driver_phone": phone,
                "start_place": generator.address[:200], "end_place": receiver.address[:200]}

    def draft(self, key: str, generator: Organization, receiver: Organization, codes: list[str],
              carrier: Organization, at: dt.datetime, *, method: str | None = None,
              purpose: str = Purpose.TRANSFER, note: str = "") -> Manifest:
        with _clock(at) as moment:
            manifest = services.create_manifest(
                scope=self.scope(generator), kind=ManifestKind.HAZARDOUS, generator_id=generator.pk,
                receiver_id=receiver.pk, legs=[self.leg(carrier, generator, receiver, moment)],
                container_codes=codes, generator_site_id=self.sites.get(generator.pk),
                receiver_site_id=self.receiving_site(receiver), emergency_measures=EMERGENCY[ManifestKind.HAZARDOUS],
                note=note, purpose=purpose, planned_method=method)
        self.manifests[key] = manifest
        self.counts["manifests"] += 1
        self.touched |= {generator.pk, receiver.pk, carrier.pk}
        return manifest

    def receiving_site(self, receiver: Organization) -> int | None:
        site = receiver.permits.filter(status="valid", site__isnull=False).order_by("-valid_until").values_list(
            "site_id", flat=True).first()
        if site is None:
            site = Site.objects.filter(organization=receiver, kind=Site.Kind.STORAGE).order_by("pk").values_list(
                "pk", flat=True).first()
        return site

    def sign(self, key: str, step: str, at: dt.datetime, *, signing_code: str | None = None, by=None,
             **data) -> Manifest:
        manifest = Manifest.objects.select_related("generator", "receiver").get(pk=self.manifests[key].pk)
        party = manifest.generator if step in ("submit", "cancel") else manifest.receiver
        signer = party.contact_name
        if step in ("pickup", "handover"):
            leg = manifest.legs.filter(taken_at__isnull=True).order_by("position").select_related("transporter") \
                .first()
            party, signer = leg.transporter, leg.driver_name
        scope = by or self.scope(party)
        with _clock(at) as moment:
            manifest = services.sign(scope=scope, manifest_id=manifest.pk, step=step, version=manifest.version,
                                     data=data, signing_code=signing_code, signer_name=signer or party.name,
                                     now=moment)
        self.manifests[key] = manifest
        return manifest

    def ship(self, key: str, submit: dt.datetime, pickup: dt.datetime | None = None,
             receive: dt.datetime | None = None, process: dt.datetime | None = None, *, method: str = "",
             receive_data: dict | None = None, **sign_options) -> Manifest:
        """Sign the steps of a drafted manifest up to the last time given."""
        manifest = self.sign(key, "submit", submit)
        if pickup:
            manifest = self.sign(key, "pickup", pickup)
        if receive:
            manifest = self.sign(key, "receive", receive, **(receive_data or {}), **sign_options)
        if process:
            manifest = self.sign(key, "process", process, method=method)
        return manifest

    def follow_up(self, key: str, source: str, purpose: str, at: dt.datetime, receiver: Organization | None = None
                  ) -> Manifest:
        source_manifest = self.manifests[source]
        with _clock(at):
            manifest = services.create_follow_up(scope=self.scope(source_manifest.generator),
                                                 manifest_id=source_manifest.pk, purpose=purpose,
                                                 receiver_id=receiver.pk if receiver else None)
        self.manifests[key] = manifest
        self.counts["manifests"] += 1
        self.touched.add(manifest.receiver_id)
        return manifest

    def statuses(self) -> Counter:
        return Counter(Manifest.objects.filter(pk__in=[m.pk for m in self.manifests.values()])
                       .values_list("status", flat=True))

    # the story -----------------------------------------------------------------------------------
    def build(self) -> dict:
        huike, yunan, shengqing = self.org(HUIKE), self.org(YUNAN), self.org(SHENGQING)
        bishan, herun, yongchuan, lite = self.org(BISHAN), self.org(HERUN), self.org(YONGCHUAN), self.org(LITE)
        shunda, xintong, hengtong = self.org(SHUNDA), self.org(XINTONG), self.org(HENGTONG)
        changshou, collector = self.org(CHANGSHOU), self.org(COLLECTOR)
        self.touched |= {huike.pk, yunan.pk, shengqing.pk}
        regulators = self._regulators()
        sichuan, guizhou = (self._cross_province_receiver(SICHUAN_RECEIVER, self.day(31, 9)),
                            self._cross_province_receiver(GUIZHOU_RECEIVER, self.day(31, 9.5)))
        codes = self._signing_codes(self.day(30, 10))

        # cross-province: the application to Sichuan through the whole chain; the refused one; the exemption
        application = self._approval(huike, sichuan, regulators)
        refused = self._refused_application(sichuan, regulators)
        rule = self._point_to_point(huike, guizhou, regulators)

        # 惠科金渝: processed loads (one with a weighbridge difference of −9 %, one received at the gate)
        boxes = self.record(huike, "900-041-49", 3, self.day(25, 17), nominal="0.8", packaging="tonne_bag",
                            volume=1000)
        self.draft("bishan", huike, bishan, boxes, yunan, self.day(24, 9), method="D10")
        shipped = self.manifests["bishan"].shipped_tonnes
        self.ship("bishan", self.day(24, 9.5), self.day(24, 10), self.day(24, 13.5), self.day(22, 15), method="D10",
                  receive_data={"received_tonnes": str((shipped * Decimal("0.91")).quantize(KG))})
        for index, days in enumerate((23, 16, 9)):
            key = f"sichuan-{index + 1}"
            boxes = self.record(huike, "336-064-17", 4, self.day(days + 1, 17), nominal="1.0", packaging="tonne_bag",
                                volume=1000)
            self.draft(key, huike, sichuan, boxes, shunda, self.day(days, 8), method="R4")
            self.ship(key, self.day(days, 8.5), self.day(days, 9), self.day(days, 14), self.day(days - 2, 11),
                      method="R4")
        boxes = self.record(huike, "398-007-34", 4, self.day(21, 8), nominal="1.1", packaging="ibc", volume=1000)
        self.draft("shengqing-gate", huike, shengqing, boxes, yunan, self.day(20, 8.5), method="R6")
        self.ship("shengqing-gate", self.day(20, 9), self.day(20, 9.5))
        driver = self.scope(yunan)
        self.sign("shengqing-gate", "receive", self.day(20, 11), signing_code=codes[SHENGQING], by=driver)
        self.sign("shengqing-gate", "process", self.day(19, 10), method="R6")
        boxes = self.record(huike, "336-064-17", 3, self.day(18, 16), nominal="1.0", packaging="tonne_bag",
                            volume=1000)
        self.draft("yongchuan", huike, yongchuan, boxes, yunan, self.day(17, 9), method="R4")
        self.ship("yongchuan", self.day(17, 9.5), self.day(17, 10), self.day(17, 13), self.day(15, 16), method="R4")

        # a partial refusal and its return; a whole refusal sent onward
        boxes = self.record(huike, "900-404-06", 3, self.day(15, 8), nominal="0.85", packaging="ibc", volume=1000)
        self.draft("partial", huike, herun, boxes, yunan, self.day(14, 8.5), method="D10")
        self.ship("partial", self.day(14, 9), self.day(14, 9.5), self.day(14, 14), self.day(13, 15), method="D10",
                  receive_data={"refused_containers": [boxes[1]],
                                "refusal_reason": "1只IBC吨桶底阀渗漏，包装不符合要求，该桶拒收"})
        self.follow_up("return", "partial", Purpose.RETURN, self.day(13, 9))
        self.ship("return", self.day(13, 9.5), self.day(13, 10), self.day(13, 12))
        boxes = self.record(huike, "336-064-17", 2, self.day(13, 16), nominal="1.0", packaging="tonne_bag",
                            volume=1000)
        self.draft("refused", huike, yongchuan, boxes, yunan, self.day(12, 9), method="R4")
        self.ship("refused", self.day(12, 9.5), self.day(12, 10), self.day(12, 15),
                  receive_data={"refuse_all": True,
                                "refusal_reason": "含水率约80%，与联单所载半固态污泥不符，超出接收标准，整车拒收"})
        self.follow_up("onward", "refused", Purpose.ONWARD, self.day(11, 9), receiver=lite)
        self.ship("onward", self.day(11, 9.5), self.day(11, 10), self.day(11, 15), self.day(9, 11), method="R4")

        # the waste oil to Guizhou under the point-to-point exemption
        boxes = self.record(huike, "900-249-08", 6, self.day(11, 17), nominal="0.17", packaging="drum", volume=200)
        self.draft("guizhou", huike, guizhou, boxes, yunan, self.day(10, 7.5), method="R9")
        self.ship("guizhou", self.day(10, 8), self.day(10, 8.5), self.day(10, 16), self.day(8, 10), method="R9")

        # overdue: in transit for ten days
        other = self._largest_other_banan_unit(huike)
        boxes = self.record(other, "900-041-49", 4, self.day(11, 16), nominal="0.8", packaging="tonne_bag",
                            volume=1000)
        self.draft("overdue", other, changshou, boxes, xintong, self.day(10, 8.5), method="D1")
        self.ship("overdue", self.day(10, 9), self.day(10, 9.5))

        # small-volume collection: three collections, forwarded to 璧山
        self._collection_round(collector, bishan, shunda, xintong)

        # the second weighbridge discrepancy (+7 %), in Kaizhou
        kaizhou = self._largest_kaizhou_unit()
        boxes = self.record(kaizhou, "900-041-49", 3, self.day(7, 16), nominal="0.8", packaging="tonne_bag",
                            volume=1000)
        self.draft("kaizhou", kaizhou, herun, boxes, hengtong, self.day(6, 8.5), method="D10")
        shipped = self.manifests["kaizhou"].shipped_tonnes
        self.ship("kaizhou", self.day(6, 9), self.day(6, 9.5), self.day(6, 13), self.day(4, 10), method="D10",
                  receive_data={"received_tonnes": str((shipped * Decimal("1.07")).quantize(KG))})

        # 惠科金渝's desk: a cancelled manifest whose containers wait on a draft; submitted, in transit, received
        boxes = self.record(huike, "900-039-49", 2, self.day(9, 15), nominal="0.8", packaging="tonne_bag",
                            volume=1000)
        self.draft("cancelled", huike, herun, boxes, yunan, self.day(8, 9), method="D10")
        self.sign("cancelled", "submit", self.day(8, 9.5))
        self.sign("cancelled", "cancel", self.day(8, 11), reason="承运车辆临时调度，改日另行开具联单")
        self.draft("draft", huike, herun, boxes, yunan, self.day(1, 16), method="D10")
        boxes = self.record(huike, "398-007-34", 2, self.day(2, 8), nominal="1.1", packaging="ibc", volume=1000)
        self.draft("received", huike, shengqing, boxes, yunan, self.day(1, 8.5), method="R6")
        self.ship("received", self.day(1, 9), self.day(1, 9.5), self.day(1, 11))
        boxes = self.record(huike, "336-064-17", 4, self.ago(30), nominal="1.0", packaging="tonne_bag", volume=1000)
        self.draft("sichuan-transit", huike, sichuan, boxes, shunda, self.ago(8), method="R4")
        self.ship("sichuan-transit", self.ago(7.5), self.ago(7))
        boxes = self.record(huike, "398-007-34", 3, self.ago(28), nominal="1.1", packaging="ibc", volume=1000)
        self.draft("in-transit", huike, shengqing, boxes, yunan, self.ago(4.5), method="R6")
        self.ship("in-transit", self.ago(4), self.ago(3))
        boxes = self.record(huike, "336-064-17", 3, self.ago(26), nominal="1.0", packaging="tonne_bag", volume=1000)
        self.draft("submitted", huike, yongchuan, boxes, yunan, self.ago(6), method="R4")
        self.sign("submitted", "submit", self.ago(5))

        self._rebuild_current_ledger()
        statuses = self.statuses()
        for name, code in codes.items():
            self.say(f"  gate signing code of {name}: {code}")
        return {"live_manifests": len(self.manifests), "live_containers": self.counts["containers"],
                "live_statuses": dict(statuses), "signing_codes": dict(codes),
                "cross_province": {"application": application.pk, "refused_application": refused.pk,
                                   "rule": rule.pk, "receivers": [sichuan.pk, guizhou.pk]},
                "regulator_accounts": [username for username, _scope in regulators.values() if username]}

    # the pieces ----------------------------------------------------------------------------------
    def _regulators(self) -> dict[str, tuple[str, Scope]]:
        """Province regulators: {province: (username or '', scope)}; accounts made as the registry demo makes them."""
        from wufei.registry.models import RegulatorMembership

        result = {}
        hashed = None
        for username, province, authority in REGULATORS:
            existing = RegulatorMembership.objects.filter(region_id=province, user__email__endswith="@" +
                                                          DEMO_EMAIL_DOMAIN).select_related("user").order_by("pk")
            user = existing.first().user if existing.exists() else self.User.objects.filter(username=username).first()
            if user is not None and not is_demo_user(user):
                region_path = f"/{province}/"
                self.say(f"  account {username!r} exists and is not a demo account: its steps are signed by a "
                         f"regulator scope of {province}")
                result[province] = ("", Scope(username=DEMO_ACTOR, region_paths=(region_path,),
                                              region_codes=(province,)))
                continue
            if user is None:
                hashed = hashed or make_password(DEMO_PASSWORD)
                user = self.User(username=username, email=f"{username}@{DEMO_EMAIL_DOMAIN}", password=hashed,
                                 first_name="regulator")
                user.save()
                self.say(f"  account {username}: regulator of {province} ({authority}), password {DEMO_PASSWORD}")
            registry.add_regulator(scope=ADMIN_SCOPE, username=user.username, region_code=province,
                                   authority=authority)
            result[province] = (user.username, scope_for(user))
        return result

    def _cross_province_receiver(self, spec: dict, at: dt.datetime) -> Organization:
        existing = Organization.objects.filter(uscc=uscc_for(spec["name"], spec["region"])).first()
        if existing is not None:
            return existing
        rng = random.Random(f"{SEED}:{spec['name']}:details")
        today = self.local_now.date()
        with _clock(at):
            organization = registry.create_organization(scope=ADMIN_SCOPE, data={
                "uscc": uscc_for(spec["name"], spec["region"]), "name": spec["name"], "region": spec["region"],
                "address": spec["address"], "longitude": spec["lon"], "latitude": spec["lat"],
                "industry_code": spec["industry"][0], "industry_name": spec["industry"][1],
                "legal_representative": _person(rng), "contact_name": _person(rng),
                "contact_phone": f"0{rng.randint(800, 899)}-{rng.randint(2000000, 8999999)}", "roles": ["receiver"]})
            site = registry.add_site(scope=ADMIN_SCOPE, data={
                "organization": organization.uscc, "name": spec["site"], "kind": "operating",
                "address": spec["address"], "longitude": spec["lon"], "latitude": spec["lat"],
                "capacity_note": "演示用虚构单位（跨省转移示例）；许可规模为假设值"})
            valid_from = today - dt.timedelta(days=500)
            registry.add_permit(scope=ADMIN_SCOPE, data={
                "organization": organization.uscc, "number": spec["permit"], "kind": "comprehensive",
                "issuing_authority": spec["authority"], "valid_from": valid_from,
                "valid_until": valid_from.replace(year=valid_from.year + 5) - dt.timedelta(days=1)},
                lines=[{"waste": code, "annual_capacity_tonnes": tonnes, "methods": methods}
                       for code, tonnes, methods in spec["lines"]], site=site)
        self.touched.add(organization.pk)
        return Organization.objects.select_related("region").get(pk=organization.pk)

    def _signing_codes(self, at: dt.datetime) -> dict[str, str]:
        codes = {}
        with _clock(at):
            for name, code in SIGNING_CODES.items():
                organization = self.org(name)
                services.set_signing_code(scope=self.admin_scope(organization), organization_id=organization.pk,
                                          code=code)
                codes[name] = code
        return codes

    def _approval(self, generator: Organization, receiver: Organization, regulators: dict) -> CrossProvinceApplication:
        origin, destination = regulators["500000"][1], regulators["510000"][1]
        today = self.local_now.date()
        with _clock(self.day(30, 10)) as moment:
            application = crossprovince.apply(
                scope=self.scope(generator), generator_id=generator.pk, receiver=receiver.pk, code="336-064-17",
                method="R4", requested_tonnes="80", requested_until=today + dt.timedelta(days=330),
                waste_name=CODES["336-064-17"][1], note="酸洗磷化污泥委托四川川南环保资源再生有限公司回收金属（R4）",
                today=timezone.localtime(moment).date())
        with _clock(self.day(29, 15)):
            application = crossprovince.origin_review(scope=origin, application_id=application.pk, consent=True,
                                                      version=application.version,
                                                      note="经初审，材料齐全，同意商请四川省生态环境厅")
        with _clock(self.day(27, 11)):
            application = crossprovince.destination_review(scope=destination, application_id=application.pk,
                                                           consent=True, version=application.version,
                                                           note="接收单位持有有效许可证，同意接收")
        with _clock(self.day(26, 16)) as moment:
            application = crossprovince.decide(scope=origin, application_id=application.pk, approve=True,
                                               version=application.version, approved_tonnes="60",
                                               note="同意转移60吨，按联单要求运输",
                                               today=timezone.localtime(moment).date())
        self.counts["applications"] += 1
        return application

    def _refused_application(self, receiver: Organization, regulators: dict) -> CrossProvinceApplication:
        origin, destination = regulators["500000"][1], regulators["510000"][1]
        candidates = Organization.objects.filter(region_id=BANAN, industry_code="3360", is_generator=True)
        unit = max(candidates, key=lambda o: (o.annual_hazardous_waste_tonnes, o.name))
        today = self.local_now.date()
        with _clock(self.day(25, 10)) as moment:
            application = crossprovince.apply(
                scope=self._unit_scope(unit), generator_id=unit.pk, receiver=receiver.pk, code="336-063-17",
                method="R4", requested_tonnes="45", requested_until=today + dt.timedelta(days=300),
                waste_name=CODES["336-063-17"][1], note="贮存中的电镀污泥委托四川回收金属",
                today=timezone.localtime(moment).date())
        with _clock(self.day(24, 15)):
            application = crossprovince.origin_review(scope=origin, application_id=application.pk, consent=True,
                                                      version=application.version, note="同意商请四川省生态环境厅")
        with _clock(self.day(21, 10)):
            application = crossprovince.destination_review(
                scope=destination, application_id=application.pk, consent=False, version=application.version,
                note="接收单位本年度HW17利用能力已接近许可规模，不同意接收")
        self.counts["applications"] += 1
        self.touched.add(unit.pk)
        return application

    def _point_to_point(self, generator: Organization, receiver: Organization, regulators: dict) -> CrossProvinceRule:
        origin = regulators["500000"][1]
        with _clock(self.day(20, 10)) as moment:
            day = timezone.localtime(moment).date()
            return crossprovince.create_rule(
                scope=origin, kind="point_to_point", origin_province="500000",
                destination_province=receiver.region_id[:2] + "0000", valid_from=day,
                valid_until=day.replace(year=day.year + 1) - dt.timedelta(days=1), generator_id=generator.pk,
                receiver_id=receiver.pk, code="900-249-08", note="废矿物油点对点定向利用（再生基础油）豁免")

    def _largest_other_banan_unit(self, *excluded: Organization) -> Organization:
        skip = {o.pk for o in excluded} | set(Organization.objects.filter(
            name__in=[name for name, _cells in INCINERATORS.values()]).values_list("pk", flat=True))
        candidates = [o for o in Organization.objects.filter(industrial_source_q(""), region_id=BANAN,
                                                             is_generator=True)
                      .exclude(industry_code="3360").select_related("region")
                      if o.pk not in skip and o.pk in self.sites]
        return max(candidates, key=lambda o: (o.annual_hazardous_waste_tonnes, o.name))

    def _largest_kaizhou_unit(self) -> Organization:
        skip = set(Organization.objects.filter(name__in=[name for name, _cells in INCINERATORS.values()])
                   .values_list("pk", flat=True))
        candidates = [o for o in Organization.objects.filter(industrial_source_q(""), region_id=KAIZHOU,
                                                             is_generator=True).select_related("region")
                      if o.pk not in skip and Site.objects.filter(organization=o, kind=Site.Kind.STORAGE).exists()]
        return max(candidates, key=lambda o: (o.annual_hazardous_waste_tonnes, o.name))

    def _collection_round(self, collector: Organization, receiver: Organization, carrier: Organization,
                          forwarder: Organization) -> None:
        shops = list(Organization.objects.filter(region_id=BANAN, industry_code="8111", is_generator=True)
                     .select_related("region").order_by("uscc")[:2])
        lab = Organization.objects.filter(region_id=BANAN, industry_code="8334", is_generator=True) \
            .select_related("region").order_by("uscc").first()
        loads = [(shops[0], "900-214-08", 3, "0.17", "drum", 200), (shops[1], "900-041-49", 4, "0.1", "bag", 120),
                 (lab, "900-047-49", 4, "0.05", "drum", 60)]
        collected = []
        for index, (unit, code, count, nominal, packaging, volume) in enumerate(loads):
            boxes = self.record(unit, code, count, self.day(6, 16 + index), nominal=nominal, packaging=packaging,
                                volume=volume)
            key = f"collection-{index + 1}"
            self.draft(key, unit, collector, boxes, carrier, self.day(5, 8 + index), purpose=Purpose.COLLECTION)
            self.ship(key, self.day(5, 8.5 + index), self.day(5, 9 + index), self.day(5, 12 + index))
            collected += boxes
            self.touched.add(unit.pk)
        self.draft("forward", collector, receiver, collected, forwarder, self.day(3, 8.5), method="D10",
                   purpose=Purpose.FORWARD)
        self.ship("forward", self.day(3, 9), self.day(3, 9.5), self.day(3, 13), self.day(2, 10), method="D10")

    def _rebuild_current_ledger(self) -> None:
        """When the ledgers demo was built before this one, bring the parties' ledger of the current year up to date."""
        from wufei.ledgers.compute import build_ledger
        from wufei.ledgers.models import LedgerMonth

        year = self.local_now.year
        if LedgerMonth.objects.filter(year=year).exists():
            build_ledger(year=year, organization_ids=sorted(self.touched))


# --- reset ---------------------------------------------------------------------------------------

def reset(organization_ids: list[int]) -> int:
    """Delete the manifests, cross-province applications and rules and signing codes of the demo's organizations.

    Called by `wufei demo --reset` before the tracking and registry rows go (manifests protect
    containers and organizations); serial numbers fall back to the manifests that remain. One
    audit event records the sweep.
    """
    ids = list(organization_ids)
    with transaction.atomic():
        legs = TransportLeg.objects.filter(transporter_id__in=ids).values("manifest_id")
        manifests = Manifest.objects.filter(Q(generator_id__in=ids) | Q(receiver_id__in=ids) | Q(pk__in=legs))
        manifest_ids = list(manifests.values_list("pk", flat=True))
        counts = {"manifests": len(manifest_ids)}
        for start in range(0, len(manifest_ids), 5000):
            chunk = manifest_ids[start:start + 5000]
            Manifest.objects.filter(follows_id__in=chunk).update(follows=None)
        for model in (Signature, ManifestContainer, ManifestLine, TransportLeg):
            for start in range(0, len(manifest_ids), 5000):
                model.objects.filter(manifest_id__in=manifest_ids[start:start + 5000]).delete()
        for start in range(0, len(manifest_ids), 5000):
            Manifest.objects.filter(pk__in=manifest_ids[start:start + 5000]).delete()
        counts["applications"] = CrossProvinceApplication.objects.filter(
            Q(generator_id__in=ids) | Q(receiver_id__in=ids)).delete()[0]
        counts["rules"] = CrossProvinceRule.objects.filter(Q(generator_id__in=ids) | Q(receiver_id__in=ids)).delete()[0]
        counts["signing_codes"] = SigningCode.objects.filter(organization_id__in=ids).delete()[0]
        for sequence in ManifestSequence.objects.all():
            numbers = Manifest.objects.filter(number__startswith=sequence.prefix).values_list("number", flat=True)
            last = max((int(n[-6:]) for n in numbers if n), default=0)
            if last:
                ManifestSequence.objects.filter(pk=sequence.pk).update(last=last)
            else:
                sequence.delete()
        audit.record_raw(entity_type="manifests.manifest", entity_id="demo", action="demo_reset", payload=counts)
    return sum(counts.values())


__all__ = ["SIGNING_CODES", "build", "demo_year", "history_pickups", "import_history", "is_built", "reset"]
