"""Organization A, a regulator of another district and a department cannot see or change B's containers.

The walk is driven by the router itself: every containers API operation (the labels
sub-router is tested by its owner) must have a case below, so a new endpoint without a
scope case fails this test. The same holds for the container pages.
"""

import json

import pytest
from django.urls import reverse

from tests.conftest import BANAN, KAIZHOU
from tests.tracking import SOLVENT
from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.core.scope import scope_for
from wufei.registry.models import Site
from wufei.tracking import services
from wufei.tracking.api import router
from wufei.tracking.label_views import router as labels_router
from wufei.tracking.models import CodeSequence, Container, ScanEvent


def _record(scope, organization, store, **fields):
    values = {"waste_code": SOLVENT, "waste_name": fields.pop("waste_name", "乙公司废溶剂"),
              "physical_form": "liquid", "packaging": "drum", "net_weight_tonnes": "0.654321",
              "storage_site_id": store.pk, "storage_location": "乙-A-07"}
    values.update(fields)
    return services.record_batch(scope=scope, organization_id=organization.pk, **values)


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user, make_site):
    a = make_org("甲公司", region=BANAN, roles=("generator",))
    b = make_org("乙公司", region=KAIZHOU, roles=("generator",))
    a_admin = member_of(a, "admin")
    b_admin = member_of(b, "admin")
    a_store = make_site(a, kind=Site.Kind.STORAGE, name="甲贮存库")
    b_store = make_site(b, kind=Site.Kind.STORAGE, name="乙贮存库")
    b_scope = scope_for(b_admin)
    b_stored, b_second = _record(b_scope, b, b_store, count=2)
    [b_produced] = _record(b_scope, b, b_store, net_weight_tonnes=None, steps=("produced",))
    [a_own] = _record(scope_for(a_admin), a, a_store, waste_name="甲公司废溶剂", net_weight_tonnes="0.1")
    return {
        "a": a, "b": b, "b_admin": b_admin, "b_store": b_store, "a_own": a_own,
        "b_stored": b_stored, "b_second": b_second, "b_produced": b_produced,
        "outsiders": {
            "enterprise A admin": a_admin,
            "Banan regulator": regulator_of(BANAN),
            "Banan department": department_user(BANAN),
        },
        "insiders": {"Kaizhou regulator": regulator_of(KAIZHOU), "B admin": b_admin},
        "b_markers": [b.uscc, b.name, "乙贮存库", "乙公司废溶剂", "乙-A-07", "0.654321", b_stored.code,
                      b_second.code, b_produced.code],
    }


def b_batch(w, **extra):
    return {"waste_code": SOLVENT, "waste_name": "冒名废物", "physical_form": "liquid", "packaging": "drum",
            "net_weight_tonnes": "1", "storage_site_id": w["b_store"].pk, **extra}


# (method, path) -> how to call it against B: url and body
CASES = {
    ("POST", "/containers"): lambda w: ("/api/v1/containers", b_batch(w, organization_id=w["b"].pk)),
    ("POST", "/containers/bulk"): lambda w: ("/api/v1/containers/bulk", {
        "organization_id": w["b"].pk, "batches": [b_batch(w), b_batch(w)]}),
    ("GET", "/containers"): lambda w: (f"/api/v1/containers?organization={w['b'].pk}&limit=500", None),
    ("GET", "/containers/{code}"): lambda w: (f"/api/v1/containers/{w['b_stored'].code}", None),
    ("POST", "/containers/{code}/steps"): lambda w: (f"/api/v1/containers/{w['b_produced'].code}/steps", {
        "step": "weighed", "net_weight_tonnes": "9"}),
    ("POST", "/containers/{code}/scans"): lambda w: (f"/api/v1/containers/{w['b_stored'].code}/scans", {
        "kind": "handed_over", "to_organization_id": w["a"].pk}),
    ("POST", "/containers/{code}/reweigh"): lambda w: (f"/api/v1/containers/{w['b_stored'].code}/reweigh", {
        "weight_tonnes": "9"}),
    ("POST", "/containers/merge"): lambda w: ("/api/v1/containers/merge", {
        "codes": [w["a_own"].code, w["b_stored"].code, w["b_second"].code], "packaging": "ibc"}),
    ("POST", "/containers/{code}/split"): lambda w: (f"/api/v1/containers/{w['b_stored'].code}/split", {
        "weights": ["0.5", "0.154321"]}),
    ("GET", "/inventory"): lambda w: (f"/api/v1/inventory?organization={w['b'].pk}", None),
    ("GET", "/trace/{code}"): lambda w: (f"/api/v1/trace/{w['b_stored'].code}", None),
}


def operations(api_router):
    return {(method, path) for path, view in api_router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_containers_endpoint_has_a_scope_case():
    assert operations(router) == set(CASES)
    assert not operations(labels_router) & set(CASES)  # the labels owner covers those


def call(client, method, url, body):
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def b_state(w):
    b = w["b"]
    containers = Container.objects.filter(organization=b) | Container.objects.filter(holder=b)
    return {
        "containers": list(containers.order_by("pk").values()),
        "events": list(ScanEvent.objects.filter(container__organization=b).order_by("pk").values()),
        "sequences": list(CodeSequence.objects.filter(organization=b).values()),
    }


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_endpoint(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    a_before = Container.objects.filter(pk=world["a_own"].pk).values().get()
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for (method, _path), case in sorted(CASES.items()):
        url, body = case(world)
        response = call(client, method, url, body)
        text = response.content.decode("utf-8", "replace")
        for marker in world["b_markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}: {response.status_code}"
        if method != "GET":
            assert response.status_code in (403, 404, 422), f"{who}: {method} {url} -> {response.status_code}"
        elif "{code}" in _path or "inventory" in url:
            assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code}"
    assert b_state(world) == before
    assert Container.objects.filter(pk=world["a_own"].pk).values().get() == a_before  # the merge rolled back
    assert not AuditEvent.objects.filter(pk__gt=last_event).exists()
    assert audit.verify_chain().ok


@pytest.mark.parametrize("who", ["Kaizhou regulator", "B admin"])
def test_insiders_do_see_b(world, client_for, who):
    """The positive control: the same walk finds B's containers for those entitled to them."""
    client = client_for(world["insiders"][who])
    code = world["b_stored"].code
    inventory_url = f"/api/v1/inventory?organization={world['b'].pk}"
    for url in (f"/api/v1/containers/{code}", f"/api/v1/trace/{code}", inventory_url):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "乙贮存库" in response.content.decode() or code in response.content.decode()
    listing = client.get(f"/api/v1/containers?organization={world['b'].pk}").json()
    assert {c["code"] for c in listing["items"]} == {world["b_stored"].code, world["b_second"].code,
                                                     world["b_produced"].code}
    page = client.get(reverse("tracking:container_detail", args=[code]))
    assert page.status_code == 200 and "0.654321" in page.content.decode()


def test_b_admin_may_write_and_the_kaizhou_regulator_may_not(world, client_for):
    code = world["b_stored"].code
    body = json.dumps({"weight_tonnes": "0.65"})
    regulator = client_for(world["insiders"]["Kaizhou regulator"])
    assert regulator.post(f"/api/v1/containers/{code}/reweigh", body, content_type="application/json") \
        .status_code == 403
    owner = client_for(world["b_admin"])
    assert owner.post(f"/api/v1/containers/{code}/reweigh", body, content_type="application/json") \
        .status_code == 201


def test_district_regulators_see_their_district_only(world, client_for, regulator_of):
    banan = client_for(world["outsiders"]["Banan regulator"]).get("/api/v1/containers?limit=500").json()
    assert {c["code"] for c in banan["items"]} == {world["a_own"].code}
    city = client_for(regulator_of("500000")).get("/api/v1/containers?limit=500").json()
    assert len(city["items"]) == 4


# --- pages -----------------------------------------------------------------------------------------

PAGE_CASES = {
    "container_list": lambda w: [("GET", reverse("tracking:container_list") + f"?organization={w['b'].pk}", None),
                                 # the page echoes q: shorter than the USCC marker
                                 ("GET", reverse("tracking:container_list") + "?q=" + w["b_stored"].code[:17], None)],
    "record": lambda w: [("GET", reverse("tracking:record") + f"?organization={w['b'].pk}", None),
                         ("POST", reverse("tracking:record"), {
                             "organization": w["b"].pk, "waste_code": SOLVENT, "physical_form": "liquid",
                             "packaging": "drum", "count": "1", "steps": "produced"})],
    "inventory": lambda w: [("GET", reverse("tracking:inventory") + f"?organization={w['b'].pk}", None),
                            ("GET", reverse("tracking:inventory"), None)],
    "scan_lookup": lambda w: [("GET", reverse("tracking:scan_lookup"), None)],
    "container_detail": lambda w: [("GET", reverse("tracking:container_detail", args=[w["b_stored"].code]), None)],
    "container_scan": lambda w: [("POST", reverse("tracking:container_scan", args=[w["b_stored"].code]), {
        "kind": "loaded"})],
}
LABEL_PAGES = {"container_label", "labels"}  # tested by the labels owner


def test_every_container_page_has_a_scope_case():
    from wufei.tracking.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} - LABEL_PAGES == set(PAGE_CASES)


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_change_b_through_any_page(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_state(world)
    for case in PAGE_CASES.values():
        for method, url, body in case(world):
            response = client.post(url, body) if method == "POST" else client.get(url)
            text = response.content.decode().replace(url, "")  # the page may echo its own address
            for marker in world["b_markers"]:
                assert marker not in text, f"{who} saw {marker} on {method} {url}"
            if method == "POST":
                assert response.status_code in (302, 403, 404), f"{who}: {method} {url} -> {response.status_code}"
    assert b_state(world) == before


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_the_scan_page_only_verifies_for_outsiders(world, client_for, who):
    response = client_for(world["outsiders"][who]).get(f"/t/{world['b_stored'].code}/")
    text = response.content.decode()
    assert 'data-testid="genuine"' in text  # what any visitor may learn: genuine, waste, generator
    for secret in ("乙贮存库", "乙-A-07", "0.654321", 'data-testid="events"', "action-"):
        assert secret not in text, f"{who} saw {secret} on the scan page"
