"""Cross-province transfers (跨省转移): the approval path Chongqing → Sichuan, filings, standing rules, the check
a manifest passes (`authorize`), and who may see and do what.

The scope walk is driven by the router: every cross-province operation must have a case in CASES.
"""

import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.urls import Resolver404, path, resolve
from django.utils import timezone

from tests.conftest import BANAN
from wufei.core import audit
from wufei.core.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.manifests import crossprovince as cp
from wufei.manifests.crossprovince_api import router
from wufei.manifests.models import (
    CrossProvinceApplication,
    CrossProvinceRule,
    Manifest,
    ManifestLine,
    ManifestStatus,
)

pytestmark = pytest.mark.django_db

CHONGQING, SICHUAN, GUIZHOU = "500000", "510000", "520000"
JINJIANG = "510104"  # 成都市锦江区
CHENGDU = "510100"
NANMING = "520102"  # 贵阳市南明区
OIL = "900-214-08"  # 废矿物油 (HW08)
FILTER = "900-041-49"  # 含油抹布等 (HW49)
SLAG = "SW01"  # 冶炼废渣
T = Decimal


def today():
    return timezone.localdate()


# --- the router, mounted by the lead; until it is, the tests mount it themselves ---------------------

urlpatterns: list = []
API = "/api/v1/cross-province"


@pytest.fixture(autouse=True)
def _router_mounted(settings):
    try:
        resolve(f"{API}/applications")
        return
    except Resolver404:
        pass
    if not urlpatterns:
        from ninja import NinjaAPI

        from wufei.core.api import Utf8JSONRenderer, api, session_or_token

        fallback = NinjaAPI(auth=session_or_token, renderer=Utf8JSONRenderer(), urls_namespace="cross-province-test")
        fallback._exception_handlers.update(api._exception_handlers)  # the same error bodies as the real API
        fallback.add_router("", router)
        urlpatterns.append(path("api/v1/", fallback.urls))
    settings.ROOT_URLCONF = __name__


# --- the world ---------------------------------------------------------------------------------------

@pytest.fixture
def world(make_org, member_of, regulator_of, make_permit):
    generator = make_org("乙方石化有限公司", region=BANAN, roles=("generator",))
    other_generator = make_org("甲方机械有限公司", region=BANAN, roles=("generator",))
    receiver = make_org("四川环资再生有限公司", region=JINJIANG, roles=("receiver",))
    guizhou_receiver = make_org("贵州危废处置中心", region=NANMING, roles=("receiver",))
    local_receiver = make_org("重庆本地处置中心", region=BANAN, roles=("receiver",))
    make_permit(receiver, lines=(("HW08", "500", ("R9", "D10")), ("HW49", "500", ("D10",))),
                valid_until=today() + dt.timedelta(days=900))
    make_permit(guizhou_receiver, lines=(("HW08", "500", ("D10",)),))
    make_permit(local_receiver, lines=(("HW08", "500", ("R9",)),))
    return {
        "generator": generator, "other_generator": other_generator, "receiver": receiver,
        "guizhou_receiver": guizhou_receiver, "local_receiver": local_receiver,
        "generator_admin": member_of(generator, "admin"), "other_admin": member_of(other_generator, "admin"),
        "receiver_admin": member_of(receiver, "admin"),
        "chongqing": regulator_of(CHONGQING), "sichuan": regulator_of(SICHUAN), "guizhou": regulator_of(GUIZHOU),
        "banan": regulator_of(BANAN), "chengdu": regulator_of(CHENGDU),
    }


def scope(world, who):
    return scope_for(world[who])


def apply(world, who="generator_admin", **overrides):
    values = {"generator_id": world["generator"].pk, "receiver": world["receiver"].pk, "code": OIL,
              "waste_name": "乙公司废矿物油", "method": "R9", "requested_tonnes": T("10"),
              "requested_until": today() + dt.timedelta(days=400)}
    values.update(overrides)
    return cp.apply(scope=scope(world, who), **values)


def approve(world, application, tonnes=None, day=None):
    """The three regulators' steps, all consenting."""
    application = cp.origin_review(scope=scope(world, "chongqing"), application_id=application.pk, consent=True,
                                   version=application.version, note="材料齐全，同意移出")
    application = cp.destination_review(scope=scope(world, "sichuan"), application_id=application.pk, consent=True,
                                        version=application.version, note="同意接收")
    return cp.decide(scope=scope(world, "chongqing"), application_id=application.pk, approve=True,
                     approved_tonnes=tonnes, version=application.version, today=day)


def shipped(world, application, tonnes, status=ManifestStatus.SUBMITTED, code=OIL, generator=None):
    """A manifest using the application, written directly (the manifest services are tested elsewhere)."""
    manifest = Manifest.objects.create(
        kind="hazardous", generator=generator or world["generator"], receiver=world["receiver"], status=status,
        cross_province_basis="approval", application=application, shipped_tonnes=T(tonnes))
    ManifestLine.objects.create(manifest=manifest, position=1, waste_id=code, waste_name="废矿物油",
                                shipped_tonnes=T(tonnes))
    return manifest


def authorize(world, lines, *, receiver="receiver", generator="generator", kind="hazardous", on=None, **extra):
    return cp.authorize(generator=world[generator], receiver=world[receiver], kind=kind, lines=lines,
                        on=on or today(), **extra)


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


# --- the approval path ------------------------------------------------------------------------------

def test_full_approval_path_chongqing_to_sichuan_through_the_api(world, client_for):
    generator = client_for(world["generator_admin"])
    response = post(generator, f"{API}/applications", {
        "generator_id": world["generator"].pk, "receiver": world["receiver"].uscc, "code": OIL,
        "waste_name": "乙公司废矿物油", "method": "R9", "requested_tonnes": "12.5",
        "requested_until": str(today() + dt.timedelta(days=200)), "note": "年度检修产生"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["awaiting"]) == ("submitted", "origin_review")
    assert (body["origin_province"], body["destination_province"]) == (CHONGQING, SICHUAN)
    assert body["destination_province_name"] == "四川省" and body["code"] == OIL and body["quantity_left"] is None
    app_id, version = body["id"], body["version"]

    chongqing, sichuan = client_for(world["chongqing"]), client_for(world["sichuan"])
    response = post(chongqing, f"{API}/applications/{app_id}/origin-review",
                    {"consent": True, "note": "同意，发商请函", "version": version})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["awaiting"]) == ("consulting", "destination_review")

    response = post(sichuan, f"{API}/applications/{app_id}/destination-review",
                    {"consent": True, "note": "同意接收", "version": response.json()["version"]})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["awaiting"]) == ("dest_consented", "decision")

    response = post(chongqing, f"{API}/applications/{app_id}/decision",
                    {"approve": True, "approved_tonnes": "8", "note": "批准", "version": response.json()["version"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved" and body["awaiting"] == ""
    assert T(body["approved_tonnes"]) == 8 and T(body["quantity_left"]) == 8
    assert body["valid_from"] == str(today())
    assert body["valid_until"] == str(today() + dt.timedelta(days=200))  # the period asked for is the shortest
    assert [(h["step"], h["decision"]) for h in body["history"]] == [
        ("application", "submitted"), ("origin_review", "consented"), ("destination_review", "consented"),
        ("decision", "approved")]
    assert body["history"][1]["by"] == world["chongqing"].username and body["history"][2]["note"] == "同意接收"

    detail = generator.get(f"{API}/applications/{app_id}").json()
    assert detail == body
    actions = list(AuditEvent.objects.filter(entity_type="manifests.crossprovinceapplication",
                                             entity_id=str(app_id)).values_list("action", flat=True))
    assert actions == ["applied", "origin_consented", "destination_consented", "approved"]
    assert audit.verify_chain().ok

    # the regulators' queues
    queue = chongqing.get(f"{API}/applications?role=origin&status=submitted,dest_consented").json()
    assert queue["items"] == []
    assert [i["id"] for i in sichuan.get(f"{API}/applications?role=destination").json()["items"]] == [app_id]
    assert sichuan.get(f"{API}/applications?role=origin").json()["items"] == []
    assert sichuan.get(f"{API}/applications?status=nonsense").status_code == 422


def test_district_and_city_regulators_cannot_do_the_provincial_reviews(world, client_for):
    application = apply(world)
    for who in ("banan", "chengdu"):
        with pytest.raises((PermissionDenied, NotFound)):
            cp.origin_review(scope=scope(world, who), application_id=application.pk, consent=True,
                             version=application.version)
        response = post(client_for(world[who]), f"{API}/applications/{application.pk}/origin-review",
                        {"consent": True, "version": application.version})
        assert response.status_code in (403, 404), who
    application = cp.origin_review(scope=scope(world, "chongqing"), application_id=application.pk, consent=True,
                                   version=application.version)
    response = post(client_for(world["chengdu"]), f"{API}/applications/{application.pk}/destination-review",
                    {"consent": True, "version": application.version})
    assert response.status_code in (403, 404)
    application.refresh_from_db()
    assert application.status == "consulting" and len(application.history) == 2


def test_each_province_acts_only_on_its_own_steps(world, client_for):
    application = apply(world)
    response = post(client_for(world["sichuan"]), f"{API}/applications/{application.pk}/origin-review",
                    {"consent": True, "version": application.version})
    assert response.status_code == 403 and "重庆市" in response.json()["message"]
    application = cp.origin_review(scope=scope(world, "chongqing"), application_id=application.pk, consent=True,
                                   version=application.version)
    with pytest.raises(PermissionDenied):
        cp.destination_review(scope=scope(world, "chongqing"), application_id=application.pk, consent=True,
                              version=application.version)
    with pytest.raises(PermissionDenied):  # the generator cannot decide for its regulators
        cp.decide(scope=scope(world, "generator_admin"), application_id=application.pk, approve=True,
                  version=application.version)


def test_steps_out_of_order_answer_409_and_change_nothing(world, client_for):
    application = apply(world)
    sichuan, chongqing = client_for(world["sichuan"]), client_for(world["chongqing"])
    before = CrossProvinceApplication.objects.filter(pk=application.pk).values().get()
    response = post(sichuan, f"{API}/applications/{application.pk}/destination-review",
                    {"consent": True, "version": application.version})
    assert response.status_code == 409 and response.json()["code"] == "cross_province_wrong_step"
    response = post(chongqing, f"{API}/applications/{application.pk}/decision",
                    {"approve": True, "version": application.version})
    assert response.status_code == 409 and response.json()["code"] == "cross_province_wrong_step"
    response = post(chongqing, f"{API}/applications/{application.pk}/origin-review",
                    {"consent": True, "version": application.version - 1 + 5})
    assert response.status_code == 409 and response.json()["code"] == "stale_version"
    assert CrossProvinceApplication.objects.filter(pk=application.pk).values().get() == before

    approved = approve(world, application)
    with pytest.raises(Conflict):
        cp.origin_review(scope=scope(world, "chongqing"), application_id=approved.pk, consent=False,
                         version=approved.version, note="再审")
    filing = apply(world, kind="filing", code=SLAG, method="R5", waste_name="冶炼废渣")
    with pytest.raises(Conflict):
        cp.origin_review(scope=scope(world, "chongqing"), application_id=filing.pk, consent=True,
                         version=filing.version)


@pytest.mark.parametrize("refused_at", ["origin_review", "destination_review", "decision"])
def test_refusals_need_a_reason_and_end_the_application(world, refused_at, english):
    application = apply(world)
    steps = {
        "origin_review": lambda app, **kw: cp.origin_review(scope=scope(world, "chongqing"), application_id=app.pk,
                                                            version=app.version, consent=kw["ok"], note=kw["note"]),
        "destination_review": lambda app, **kw: cp.destination_review(
            scope=scope(world, "sichuan"), application_id=app.pk, version=app.version, consent=kw["ok"],
            note=kw["note"]),
        "decision": lambda app, **kw: cp.decide(scope=scope(world, "chongqing"), application_id=app.pk,
                                                version=app.version, approve=kw["ok"], note=kw["note"]),
    }
    for step in steps:
        if step == refused_at:
            break
        application = steps[step](application, ok=True, note="")
    with pytest.raises(ValidationFailed) as excinfo:
        steps[refused_at](application, ok=False, note="  ")
    assert excinfo.value.errors[0]["field"] == "note"
    application = steps[refused_at](application, ok=False, note="接收单位能力不足")
    assert application.status == "refused" and application.decision_note == "接收单位能力不足"
    assert application.history[-1] == {**application.history[-1], "step": refused_at, "decision": "refused",
                                       "note": "接收单位能力不足"}
    assert AuditEvent.objects.filter(entity_type="manifests.crossprovinceapplication",
                                     entity_id=str(application.pk), action__endswith="refused").count() == 1
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T(1), None)])
    assert excinfo.value.code == "cross_province_not_approved"


def test_approved_tonnes_cannot_exceed_the_request(world):
    application = apply(world)
    with pytest.raises(ValidationFailed) as excinfo:
        approve(world, application, tonnes=T("10.5"))
    assert excinfo.value.errors[0]["field"] == "approved_tonnes"
    application.refresh_from_db()
    assert application.status == "dest_consented"


def test_validity_is_twelve_months_capped_by_the_request_and_the_permit(world, make_permit, make_org):
    day = today()
    twelve = cp._add_months(day, 12) - dt.timedelta(days=1)
    assert approve(world, apply(world)).valid_until == min(twelve, day + dt.timedelta(days=400))
    long = approve(world, apply(world, requested_until=day + dt.timedelta(days=800)))
    assert (long.valid_from, long.valid_until) == (day, twelve)  # 第27条: 12 months
    short = approve(world, apply(world, requested_until=day + dt.timedelta(days=30)))
    assert short.valid_until == day + dt.timedelta(days=30)  # the period asked for

    receiver = make_org("四川短证经营单位", region=JINJIANG, roles=("receiver",))
    make_permit(receiver, lines=(("HW08", "100", ("R9",)),), valid_until=day + dt.timedelta(days=90))
    make_permit(receiver, lines=(("HW49", "100", ("D10",)),), valid_until=day + dt.timedelta(days=600))
    capped = approve(world, apply(world, receiver=receiver.pk, requested_until=day + dt.timedelta(days=300)))
    assert capped.valid_until == day + dt.timedelta(days=90)  # the receiver's permit for HW08, not for HW49


def test_add_months_keeps_to_the_end_of_short_months():
    assert cp._add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert cp._add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert cp._add_months(dt.date(2025, 3, 15), 12) == dt.date(2026, 3, 15)


def test_an_approval_needs_the_receivers_permit_when_decided(world):
    application = apply(world)
    application = cp.origin_review(scope=scope(world, "chongqing"), application_id=application.pk, consent=True,
                                   version=application.version)
    application = cp.destination_review(scope=scope(world, "sichuan"), application_id=application.pk,
                                        consent=True, version=application.version)
    world["receiver"].permits.update(status="revoked")
    with pytest.raises(RuleViolation) as excinfo:
        cp.decide(scope=scope(world, "chongqing"), application_id=application.pk, approve=True,
                  version=application.version)
    assert excinfo.value.code == "receiver_not_permitted"


# --- applying and filing ------------------------------------------------------------------------------

def test_application_rules(world, english):
    with pytest.raises(RuleViolation) as excinfo:
        apply(world, receiver=world["local_receiver"].pk)
    assert excinfo.value.code == "not_cross_province" and "重庆市" in excinfo.value.message
    with pytest.raises(RuleViolation) as excinfo:  # filings are for general waste going to utilization
        apply(world, kind="filing")
    assert excinfo.value.code == "cross_province_filing_not_allowed"
    with pytest.raises(RuleViolation) as excinfo:
        apply(world, kind="filing", code=SLAG, method="D1")
    assert excinfo.value.code == "cross_province_filing_not_allowed"
    with pytest.raises(RuleViolation) as excinfo:
        apply(world, code=SLAG, method="R5")
    assert excinfo.value.code == "cross_province_filing_suffices"
    with pytest.raises(RuleViolation) as excinfo:  # the receiver's permit must cover the code and method
        apply(world, code=FILTER, method="R9")
    assert excinfo.value.code == "receiver_not_permitted"
    with pytest.raises(ValidationFailed) as excinfo:
        apply(world, code="999-999-99", method="X1", requested_tonnes="-1",
              requested_until=today() - dt.timedelta(days=1), receiver="nobody")
    fields = {e["field"] for e in excinfo.value.errors}
    assert fields == {"code", "method", "requested_tonnes", "requested_until", "receiver"}
    with pytest.raises(NotFound):
        apply(world, who="other_admin")  # another enterprise cannot apply for the generator
    with pytest.raises(PermissionDenied):
        apply(world, who="chongqing")  # regulators read, they do not apply

    general = apply(world, code=SLAG, method="D1", waste_name="")  # general waste to disposal: approval
    assert (general.status, general.general_code, general.waste_id, general.waste_name) == (
        "submitted", SLAG, None, "冶炼废渣")


def test_a_filing_is_filed_at_once_and_both_provinces_see_it(world, client_for):
    filing = apply(world, kind="filing", code=SLAG, method="R5", waste_name="冶炼废渣",
                   requested_until=today() + dt.timedelta(days=100))
    assert (filing.status, filing.valid_from, filing.valid_until) == (
        "filed", today(), today() + dt.timedelta(days=100))
    assert filing.history[0]["step"] == "filing"
    assert AuditEvent.objects.filter(entity_id=str(filing.pk), action="filed").exists()
    for who in ("chongqing", "sichuan", "receiver_admin"):
        response = client_for(world[who]).get(f"{API}/applications?kind=filing")
        assert [i["id"] for i in response.json()["items"]] == [filing.pk], who
    assert client_for(world["guizhou"]).get(f"{API}/applications").json()["items"] == []


# --- authorize() --------------------------------------------------------------------------------------

def test_authorize_same_province_needs_nothing(world):
    assert authorize(world, [(OIL, T(5), "R9")], receiver="local_receiver") == ("", None)


def test_authorize_without_anything_names_the_provinces_and_the_code(world, english):
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T(1), "R9")])
    error = excinfo.value
    assert error.code == "cross_province_not_approved"
    assert all(word in error.message for word in (OIL, "重庆市", "四川省", "第22条"))
    assert error.errors[0]["field"] == "lines.0"


def rule(world, kind="whitelist", **fields):
    values = {"kind": kind, "origin_province": CHONGQING, "destination_province": SICHUAN,
              "valid_from": today() - dt.timedelta(days=10), "valid_until": today() + dt.timedelta(days=10)}
    values.update(fields)
    return cp.create_rule(scope=scope(world, "chongqing"), **values)


def test_authorize_by_whitelist(world):
    rule(world, code="HW49")
    with pytest.raises(RuleViolation):
        authorize(world, [(OIL, T(1), None)])  # HW49 does not cover HW08
    rule(world, code="HW08", valid_until=today() - dt.timedelta(days=1))  # expired
    rule(world, code="HW08", destination_province=GUIZHOU)  # another destination
    with pytest.raises(RuleViolation):
        authorize(world, [(OIL, T(1), None)])
    with pytest.raises(RuleViolation):  # an HW category never covers a general code (SW49 is not HW49)
        authorize(world, [("SW49", T(1), "D1")], kind="general")
    rule(world, code="HW08")
    assert authorize(world, [(OIL, T(500), "D10"), (FILTER, T(2), "D10")]) == ("whitelist", None)
    assert authorize(world, [(OIL, T(1), None)], receiver="guizhou_receiver") == ("whitelist", None)
    with pytest.raises(RuleViolation):  # after the rule's validity
        authorize(world, [(OIL, T(1), None)], on=today() + dt.timedelta(days=11))


def test_authorize_by_point_to_point_exemption_for_one_generator(world):
    rule(world, "point_to_point", generator_id=world["generator"].pk, receiver_id=world["receiver"].pk, code=OIL)
    assert authorize(world, [(OIL, T(30), "R9")]) == ("point_to_point", None)
    assert authorize(world, [(OIL, T(30), None)]) == ("point_to_point", None)
    with pytest.raises(RuleViolation):  # 定向利用: not for disposal
        authorize(world, [(OIL, T(30), "D10")])
    with pytest.raises(RuleViolation):  # another generator of the same province
        authorize(world, [(OIL, T(30), "R9")], generator="other_generator")
    rule(world, code="HW08")
    assert authorize(world, [(OIL, T(30), "R9")]) == ("whitelist", None)  # the whitelist is looked at first


def test_authorize_by_filing_for_general_waste_to_utilization(world, english):
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(SLAG, T(20), "R5")], kind="general")
    assert excinfo.value.code == "cross_province_filing_missing" and "第22条第2款" in excinfo.value.message
    filing = apply(world, kind="filing", code=SLAG, method="R5", requested_until=today() + dt.timedelta(days=30))
    assert authorize(world, [(SLAG, T(20), "R5"), (SLAG, T(1000), None)], kind="general") == ("filing", filing)
    with pytest.raises(RuleViolation) as excinfo:  # a filing covers utilization only
        authorize(world, [(SLAG, T(20), "D1")], kind="general")
    assert excinfo.value.code == "cross_province_not_approved"
    with pytest.raises(RuleViolation):  # after the period filed
        authorize(world, [(SLAG, T(20), "R5")], kind="general", on=today() + dt.timedelta(days=31))
    with pytest.raises(RuleViolation):  # another receiver
        authorize(world, [(SLAG, T(20), "R5")], kind="general", receiver="guizhou_receiver")


def test_authorize_by_approval_with_quantity_left(world, english):
    application = approve(world, apply(world), tonnes=T(10))
    first = shipped(world, application, "6")
    shipped(world, application, "5", status=ManifestStatus.DRAFT)  # not counted
    shipped(world, application, "5", status=ManifestStatus.CANCELLED)  # not counted
    shipped(world, application, "3", code=FILTER)  # another code on a manifest linked to it: not counted
    assert cp.quantity_left(application) == T(4)
    assert authorize(world, [(OIL, T(4), "R9")]) == ("approval", application)
    assert authorize(world, [(OIL, T(2.5), None), (OIL, T("1.5"), "R9")]) == ("approval", application)

    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T("2.5"), "R9"), (OIL, T("2.5"), "R9")])
    error = excinfo.value
    assert error.code == "cross_province_quantity_exceeded" and "4 t left" in error.message and "5 t" in error.message
    # re-checking the first manifest itself (a revision): its own tonnes are not spent yet
    assert authorize(world, [(OIL, T(10), "R9")], exclude_manifest_id=first.pk) == ("approval", application)

    shipped(world, application, "4", status=ManifestStatus.PROCESSED)
    assert cp.quantity_left(application) == 0
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T("0.001"), "R9")])
    assert excinfo.value.code == "cross_province_quantity_exceeded"

    second = approve(world, apply(world, requested_tonnes=T(20)))  # a new application (第28条): used next
    assert authorize(world, [(OIL, T(15), "R9")]) == ("approval", second)


def test_authorize_checks_the_approved_method_and_one_approval_per_manifest(world):
    approve(world, apply(world))  # OIL by R9
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T(1), "D10")])
    assert excinfo.value.code == "cross_province_method_not_approved"
    approve(world, apply(world, code=FILTER, method="D10"))
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T(1), "R9"), (FILTER, T(1), "D10")])
    assert excinfo.value.code == "cross_province_one_approval_per_manifest"
    rule(world, code="HW49")  # one code whitelisted, the other approved: the approval is the basis
    basis, application = authorize(world, [(FILTER, T(1), "D10"), (OIL, T(1), "R9")])
    assert basis == "approval" and application.waste_id == OIL


def test_authorize_after_the_approval_expired(world, english):
    day = today()
    application = apply(world, requested_until=day - dt.timedelta(days=5), today=day - dt.timedelta(days=25))
    application = approve(world, application, day=day - dt.timedelta(days=20))
    assert (application.valid_from, application.valid_until) == (day - dt.timedelta(days=20),
                                                                  day - dt.timedelta(days=5))
    assert authorize(world, [(OIL, T(1), "R9")], on=day - dt.timedelta(days=6)) == ("approval", application)
    with pytest.raises(RuleViolation) as excinfo:
        authorize(world, [(OIL, T(1), "R9")])
    assert excinfo.value.code == "cross_province_approval_expired"
    assert str(day - dt.timedelta(days=5)) in excinfo.value.message and "第27条" in excinfo.value.message


def test_a_request_whose_period_is_over_cannot_be_approved(world):
    day = today()
    application = apply(world, requested_until=day - dt.timedelta(days=1), today=day - dt.timedelta(days=10))
    with pytest.raises(RuleViolation) as excinfo:
        approve(world, application)
    assert excinfo.value.code == "cross_province_period_over"


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs a server database; SQLite serializes writers with IMMEDIATE transactions")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # restore the catalogs the flush removes
def test_simultaneous_manifests_never_spend_more_than_the_approval(world):
    """authorize() locks the approval until the submitting transaction ends: 8 × 3 t against 10 t → 3 pass."""
    application = approve(world, apply(world), tonnes=T(10))
    barrier, outcomes = threading.Barrier(8), []

    def submit():
        try:
            barrier.wait()
            with transaction.atomic():
                basis, found = authorize(world, [(OIL, T(3), "R9")])
                shipped(world, found, "3")
            outcomes.append(basis)
        except RuleViolation as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # surfaced below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approval"] * 3 + ["cross_province_quantity_exceeded"] * 5
    assert cp.quantity_left(application) == T(1)


def test_the_manifest_submit_step_uses_the_approval(chain, make_org, make_permit, regulator_of):
    """Through the manifest services: refused without an approval, linked to it once approved."""
    from tests.manifests.conftest import draft, run

    receiver = make_org("四川环资再生有限公司", region=JINJIANG, roles=("receiver",))
    make_permit(receiver, lines=(("HW08", "500", ("R9",)),))
    world = {"generator": chain.generator, "receiver": receiver, "generator_admin": chain.generator_admin,
             "chongqing": regulator_of(CHONGQING), "sichuan": regulator_of(SICHUAN)}
    manifest = draft(chain, chain.record(count=2, waste_code=OIL, tonnes="0.5"), receiver_id=receiver.pk,
                     planned_method="R9")
    with pytest.raises(RuleViolation) as excinfo:
        run(chain, manifest, "submit", "generator_admin")
    assert "cross_province_not_approved" in {e["code"] for e in excinfo.value.errors}

    application = approve(world, apply(world, requested_tonnes=T(3)))
    run(chain, manifest, "submit", "generator_admin")
    manifest.refresh_from_db()
    assert (manifest.status, manifest.cross_province_basis, manifest.application_id) == (
        "submitted", "approval", application.pk)
    assert cp.quantity_left(application) == T(2)


# --- standing rules -----------------------------------------------------------------------------------

def test_rules_are_kept_by_the_province_of_origin(world, client_for):
    body = {"kind": "whitelist", "origin_province": CHONGQING, "destination_province": SICHUAN, "code": "hw08",
            "valid_from": str(today()), "valid_until": str(today() + dt.timedelta(days=365)), "note": "川渝白名单"}
    for who in ("sichuan", "banan", "generator_admin"):
        assert post(client_for(world[who]), f"{API}/rules", body).status_code == 403, who
    chongqing = client_for(world["chongqing"])
    response = post(chongqing, f"{API}/rules", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["code"] == "HW08" and created["origin_province"] == CHONGQING
    assert post(client_for(world["sichuan"]), f"{API}/rules", {
        **body, "origin_province": SICHUAN, "destination_province": CHONGQING}).status_code == 201

    bad = post(chongqing, f"{API}/rules", {**body, "kind": "point_to_point", "destination_province": CHONGQING,
                                           "origin_province": CHONGQING, "code": "HW77",
                                           "valid_until": str(today() - dt.timedelta(days=1))})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"destination_province", "generator_id", "code",
                                                          "valid_until"}
    bad = post(chongqing, f"{API}/rules", {**body, "kind": "point_to_point", "generator_id": world["receiver"].pk,
                                           "receiver_id": world["generator"].pk})
    assert {e["field"] for e in bad.json()["errors"]} == {"generator_id", "receiver_id"}

    # both provinces see it; the destination cannot change it
    assert [r["id"] for r in client_for(world["sichuan"]).get(f"{API}/rules?origin=500000").json()["items"]] == [
        created["id"]]
    patch = {"version": created["version"], "valid_until": str(today() + dt.timedelta(days=30))}
    assert client_for(world["sichuan"]).patch(f"{API}/rules/{created['id']}", json.dumps(patch),
                                              content_type="application/json").status_code == 403
    response = chongqing.patch(f"{API}/rules/{created['id']}", json.dumps(patch), content_type="application/json")
    assert response.status_code == 200 and response.json()["valid_until"] == patch["valid_until"]
    assert chongqing.delete(f"{API}/rules/{created['id']}?version={created['version']}").status_code == 409
    assert chongqing.delete(f"{API}/rules/{created['id']}?version={response.json()['version']}").status_code == 204
    assert not CrossProvinceRule.objects.filter(pk=created["id"]).exists()
    assert AuditEvent.objects.filter(entity_type="manifests.crossprovincerule", entity_id=str(created["id"]),
                                     action="deleted").exists()


# --- scope -------------------------------------------------------------------------------------------

@pytest.fixture
def scoped(world):
    application = apply(world)
    consulting = cp.origin_review(scope=scope(world, "chongqing"), application_id=apply(world).pk, consent=True,
                                  version=1)
    consented = cp.destination_review(
        scope=scope(world, "sichuan"), consent=True, version=2,
        application_id=cp.origin_review(scope=scope(world, "chongqing"), application_id=apply(world).pk,
                                        consent=True, version=1).pk)
    standing = rule(world, "point_to_point", generator_id=world["generator"].pk, receiver_id=world["receiver"].pk,
                    note="乙方专用点对点")
    return {**world, "application": application, "consulting": consulting, "consented": consented, "rule": standing,
            "markers": [world["generator"].name, world["generator"].uscc, "乙公司废矿物油", "乙方专用点对点"]}


def _id(w, key):
    return w[key].pk


CASES = {
    ("POST", "/cross-province/applications"): lambda w: (f"{API}/applications", {
        "generator_id": w["generator"].pk, "receiver": w["receiver"].pk, "code": OIL, "method": "R9",
        "requested_tonnes": "1", "requested_until": str(today() + dt.timedelta(days=9))}),
    ("GET", "/cross-province/applications"): lambda w: (
        f"{API}/applications?generator={w['generator'].pk}&limit=500", None),
    ("GET", "/cross-province/applications/{application_id}"): lambda w: (
        f"{API}/applications/{_id(w, 'application')}", None),
    ("POST", "/cross-province/applications/{application_id}/origin-review"): lambda w: (
        f"{API}/applications/{_id(w, 'application')}/origin-review", {"consent": True, "version": 1}),
    ("POST", "/cross-province/applications/{application_id}/destination-review"): lambda w: (
        f"{API}/applications/{_id(w, 'consulting')}/destination-review", {"consent": True, "version": 2}),
    ("POST", "/cross-province/applications/{application_id}/decision"): lambda w: (
        f"{API}/applications/{_id(w, 'consented')}/decision", {"approve": True, "version": 3}),
    ("POST", "/cross-province/rules"): lambda w: (f"{API}/rules", {
        "kind": "whitelist", "origin_province": CHONGQING, "destination_province": SICHUAN,
        "valid_from": str(today()), "valid_until": str(today())}),
    ("GET", "/cross-province/rules"): lambda w: (f"{API}/rules?origin={CHONGQING}&limit=500", None),
    ("PATCH", "/cross-province/rules/{rule_id}"): lambda w: (f"{API}/rules/{_id(w, 'rule')}", {
        "version": 1, "note": "改"}),
    ("DELETE", "/cross-province/rules/{rule_id}"): lambda w: (f"{API}/rules/{_id(w, 'rule')}?version=1", None),
}


def operations(api_router):
    return {(method, route) for route, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_cross_province_endpoint_has_a_scope_case():
    assert operations(router) == set(CASES)


def call(client, method, url, body):
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def state():
    return (list(CrossProvinceApplication.objects.order_by("pk").values()),
            list(CrossProvinceRule.objects.order_by("pk").values()))


@pytest.mark.parametrize("who", ["other_admin", "guizhou"])
def test_outsiders_cannot_read_or_act_through_any_endpoint(scoped, client_for, who):
    """Another enterprise and an unrelated province's regulator: 404 on the rows, 403/404/422 on writes."""
    client = client_for(scoped[who])
    before = state()
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for (method, route), case in sorted(CASES.items()):
        url, body = case(scoped)
        response = call(client, method, url, body)
        text = response.content.decode("utf-8", "replace")
        for marker in scoped["markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if method != "GET":
            assert response.status_code in (403, 404), f"{who}: {method} {url} -> {response.status_code} {text}"
        elif "{" in route:
            assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code}"
        else:
            assert response.status_code == 200 and response.json()["items"] == [], f"{who}: {method} {url}"
    assert state() == before
    assert not AuditEvent.objects.filter(pk__gt=last_event).exists()


@pytest.mark.parametrize("who", ["generator_admin", "receiver_admin", "chongqing", "sichuan"])
def test_insiders_do_see_the_applications(scoped, client_for, who):
    client = client_for(scoped[who])
    listing = client.get(f"{API}/applications?generator={scoped['generator'].pk}").json()
    assert {i["id"] for i in listing["items"]} == {scoped[k].pk for k in ("application", "consulting", "consented")}
    response = client.get(f"{API}/applications/{scoped['application'].pk}")
    assert response.status_code == 200 and "乙公司废矿物油" in response.content.decode()
    rules = client.get(f"{API}/rules").json()["items"]
    assert [r["id"] for r in rules] == [scoped["rule"].pk]
