"""Complaints demo: a dozen public reports in Banan and Kaizhou, some handled by the regulators.

`build(stdout)` runs after the registry demo (BUILDERS in wufei/demo/builders.py;
it needs the regulator accounts). Reports are filed through `services.submit_report` and handled
through `services.transition` as the Banan regulator (`regulator`) and the Kaizhou regulator, so
the history and the audit chain are the real ones. One follow-up pair (number, secret) is printed
to try the reporter's page. Every row's "created" event carries the actor "demo": `--reset` finds the
demo's reports by it and deletes them with their photos.
"""

import zlib

from django.contrib.auth import get_user_model
from django.db import transaction

from wufei.cases import services
from wufei.cases.models import Report, ReportPhoto
from wufei.core import audit
from wufei.core.scope import scope_for

DEMO_ACTOR = "demo"
BANAN, KAIZHOU = "500113", "500154"

# kind, district, place, lon, lat, description, organization named, handling
REPORTS = [
    ("illegal_dumping", BANAN, "巴南区界石镇桂花路桥下", "106.6312", "29.3921",
     "夜间有货车在桥下倾倒桶装废液，约十余桶，气味刺鼻。", "", ("accept", "investigate", "close")),
    ("complaint", BANAN, "巴南区南泉街道某汽修厂后院", "106.6105", "29.4463",
     "汽修厂废机油露天存放，雨天外流到路边水沟。", "某汽车维修服务有限公司", ("accept", "investigate")),
    ("illegal_dumping", BANAN, "巴南区李家沱长江边", "106.5451", "29.4687",
     "江边空地堆放大量建筑垃圾和装修垃圾。", "", ("accept",)),
    ("complaint", BANAN, "巴南区鱼洞街道某小区", "", "",
     "小区旁工地渣土车未覆盖，沿路抛洒。", "", ("reject",)),
    ("other", BANAN, "巴南区花溪工业园区", "106.5660", "29.4210",
     "园区某企业夜间焚烧不明固体，烟雾很大。", "", ()),
    ("illegal_dumping", BANAN, "巴南区一品街道山林边", "106.7008", "29.3512",
     "山林边发现成堆废弃电子线路板。", "", ()),
    ("complaint", KAIZHOU, "开州区汉丰街道滨湖路", "108.3932", "31.1786",
     "餐厨垃圾收运车辆滴漏，气味大。", "", ("accept", "investigate", "close")),
    ("illegal_dumping", KAIZHOU, "开州区白鹤街道河滩", "108.4421", "31.1402",
     "河滩上有人倾倒废弃化工原料包装袋。", "", ("accept",)),
    ("complaint", KAIZHOU, "开州区赵家街道养殖场", "108.3170", "31.2356",
     "养殖场粪污直排，影响周边农田。", "", ()),
]
RESULTS = {
    BANAN: "经现场核查属实，已责令责任单位清理并依法立案查处，感谢您的监督。",
    KAIZHOU: "已责令收运企业整改车辆密封，并加强沿线巡查，感谢您的监督。",
}


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def _png(width: int = 8, height: int = 8, rgb=(120, 140, 90)) -> bytes:
    """A small solid-colour PNG made here (no image library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def is_built() -> bool:
    return Report.objects.exists() and Report.objects.filter(pk__in=_demo_ids()).exists()


def _demo_ids() -> list[int]:
    from wufei.core.models import AuditEvent

    return [int(i) for i in AuditEvent.objects.filter(entity_type="cases.report", action="created",
                                                      actor_label=DEMO_ACTOR).values_list("entity_id", flat=True)]


def build(stdout=None) -> dict:
    users = {u.username: u for u in get_user_model().objects.filter(username__in=("regulator", "kaizhou-regulator"))}
    handlers = {BANAN: users.get("regulator"), KAIZHOU: users.get("kaizhou-regulator")}
    filed, handled, example = 0, 0, None
    with audit.acting_as(DEMO_ACTOR), transaction.atomic():
        for index, (kind, region, place, lon, lat, text, named, steps) in enumerate(REPORTS):
            photos = [(f"现场{index + 1}.png", _png(rgb=(100 + index * 10, 120, 80)))] if index % 2 == 0 else []
            report, secret = services.submit_report(
                kind=kind, region=region, place=place, description=text, longitude=lon, latitude=lat,
                organization_named=named, consent=True, photos=photos,
                contact_phone=f"1380000{index:04d}" if index % 3 == 0 else "")
            filed += 1
            example = example or (report.number, secret)
            user = handlers.get(region)
            if user is None:
                continue
            scope = scope_for(user)
            with audit.acting_as(user):
                for action in steps:
                    report = services.transition(
                        scope=scope, report_id=report.pk, action=action, version=report.version,
                        result=RESULTS[region] if action == "close" else "",
                        reason="经核实属城市管理部门职责，已转交区城市管理局办理。" if action == "reject" else "",
                        note="现场核查" if action == "investigate" else "")
                    handled += 1
    _say(stdout, f"  reports filed: {filed}, handling steps: {handled}")
    if example:
        _say(stdout, f"  follow-up example on /cases/follow/: number {example[0]}, secret {example[1]}")
    return {"reports": filed, "steps": handled}


def reset(organization_ids: list[int]) -> int:
    """Delete the demo's own reports (with their photos) and unlink reports filed by anyone else from the demo
    organizations, before the registry rows go."""
    from wufei.core.models import AuditEvent

    created = AuditEvent.objects.filter(actor_label=DEMO_ACTOR, action="created", entity_type="cases.report")
    demo_ids = [int(i) for i in created.values_list("entity_id", flat=True)]
    with transaction.atomic():
        ReportPhoto.objects.filter(report_id__in=demo_ids).delete()
        Report.objects.filter(pk__in=demo_ids).delete()
        for report in Report.objects.filter(organization_id__in=organization_ids):
            report.organization = None
            report.save(audit_action="organization_linked", audit_note="demo reset")
        audit.record_raw(entity_type="cases.report", entity_id="demo", action="demo_reset",
                         payload={"reports": len(demo_ids)})
    return len(demo_ids)
