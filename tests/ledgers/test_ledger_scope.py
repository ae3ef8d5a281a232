"""Enterprise A, another district's regulator and a department cannot read or rebuild B's ledger.

The walk is driven by the router: every operation of ledger_api.router (and every ledger page)
must have a case below, so a new endpoint without a scope case fails this test.
"""

import io
import json

import pytest
from openpyxl import load_workbook

from tests.conftest import BANAN, KAIZHOU
from tests.ledgers.test_ledger import W1, produce, scan
from wufei.ledgers import compute, ledger_views
from wufei.ledgers.ledger_api import router
from wufei.ledgers.models import LedgerMonth

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_org, member_of, regulator_of, department_user):
    a = make_org("甲公司", region=BANAN)
    b = make_org("乙公司", region=KAIZHOU, roles=("generator", "receiver"))
    box = produce(b, W1, "2026-03-01 08:00", "1.5", stored="2026-03-01 09:00", code="B-SECRET-CONTAINER-01")
    scan(box, "reweighed", "2026-03-05 08:00", weight="1.4", discrepancy=True)
    compute.build_ledger(year=2026)
    return {
        "a": a, "b": b,
        "outsiders": {
            "enterprise A admin": member_of(a, "admin"),
            "Banan regulator": regulator_of(BANAN),
            "Banan department": department_user(BANAN),
        },
        "insiders": {"Kaizhou regulator": regulator_of(KAIZHOU), "B admin": member_of(b, "admin")},
        "b_reader": member_of(b, "reader"),
        "b_markers": [b.uscc, b.name, box.code],
    }


CASES = {
    ("GET", "/ledgers/{organization_id}/{year}"): lambda w: f"/api/v1/ledgers/{w['b'].pk}/2026",
    ("GET", "/ledgers/{organization_id}/{year}/containers"): lambda w: f"/api/v1/ledgers/{w['b'].pk}/2026/containers",
    ("GET", "/ledgers/{organization_id}/{year}/mass-balance"): lambda w: (
        f"/api/v1/ledgers/{w['b'].pk}/2026/mass-balance"),
    ("GET", "/ledgers/{organization_id}/{year}/export.xlsx"): lambda w: (
        f"/api/v1/ledgers/{w['b'].pk}/2026/export.xlsx"),
    ("POST", "/ledgers/{organization_id}/{year}/rebuild"): lambda w: f"/api/v1/ledgers/{w['b'].pk}/2026/rebuild",
}
PAGE_CASES = {
    "ledger_current": lambda w: ("GET", f"/ledgers/{w['b'].pk}/"),
    "ledger": lambda w: ("GET", f"/ledgers/{w['b'].pk}/2026/"),
    "ledger_export": lambda w: ("GET", f"/ledgers/{w['b'].pk}/2026/export.xlsx"),
    "ledger_rebuild": lambda w: ("POST", f"/ledgers/{w['b'].pk}/2026/rebuild/"),
}


def ledger_operations():
    return {(method, path) for path, view in router.path_operations.items()
            for op in view.operations for method in op.methods}


def test_every_ledger_endpoint_has_a_scope_case():
    assert ledger_operations() == set(CASES)


def test_every_ledger_page_has_a_scope_case():
    assert {pattern.name for pattern in ledger_views.urlpatterns} == set(PAGE_CASES)


def text_of(response) -> str:
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        book = load_workbook(io.BytesIO(response.content))
        return json.dumps([[str(c) for c in row] for sheet in book for row in sheet.iter_rows(values_only=True)],
                          ensure_ascii=False)
    return response.content.decode("utf-8", "replace")


def b_rows(w):
    return list(LedgerMonth.objects.filter(organization=w["b"]).order_by("pk").values())


@pytest.mark.parametrize("who", ["enterprise A admin", "Banan regulator", "Banan department"])
def test_outsiders_cannot_read_or_rebuild_b(world, client_for, who):
    client = client_for(world["outsiders"][who])
    before = b_rows(world)
    assert before
    calls = [(method, case(world)) for (method, _path), case in sorted(CASES.items())]
    calls += [case(world) for case in PAGE_CASES.values()]
    for method, url in calls:
        response = client.generic(method, url)
        text = text_of(response)
        for marker in world["b_markers"]:
            assert marker not in text, f"{who} saw {marker} through {method} {url}"
        allowed = (302,) if url.endswith(f"/ledgers/{world['b'].pk}/") else (403, 404)
        assert response.status_code in allowed, f"{who}: {method} {url} -> {response.status_code}"
    assert b_rows(world) == before


@pytest.mark.parametrize("who", ["Kaizhou regulator", "B admin"])
def test_insiders_do_read_and_rebuild_b(world, client_for, who):
    """The positive control: the same walk succeeds for those entitled to it."""
    client = client_for(world["insiders"][who])
    for (method, _path), case in sorted(CASES.items()):
        response = client.generic(method, case(world))
        assert response.status_code == 200, (method, case(world), response.status_code)
        assert world["b"].name in text_of(response), (method, case(world))
    for suffix in ("/containers", "/mass-balance", "/export.xlsx"):  # the container itself, with its records
        assert world["b_markers"][2] in text_of(client.get(f"/api/v1/ledgers/{world['b'].pk}/2026{suffix}")), suffix
    for _name, case in PAGE_CASES.items():
        method, url = case(world)
        response = client.generic(method, url)
        assert response.status_code in (200, 302), (url, response.status_code)
    page = client.get(f"/ledgers/{world['b'].pk}/2026/").content.decode()
    assert all(marker in page for marker in world["b_markers"])


def test_b_reader_reads_but_does_not_rebuild(world, client_for):
    client = client_for(world["b_reader"])
    assert client.get(f"/api/v1/ledgers/{world['b'].pk}/2026").status_code == 200
    before = b_rows(world)
    assert client.post(f"/api/v1/ledgers/{world['b'].pk}/2026/rebuild").status_code == 403
    assert client.post(f"/ledgers/{world['b'].pk}/2026/rebuild/").status_code == 403
    assert b_rows(world) == before


def test_the_ledger_section_is_not_shown_to_outsiders(world, client_for):
    """B's organization page (where the section lives) is itself a 404 for outsiders."""
    for user in world["outsiders"].values():
        response = client_for(user).get(f"/registry/organizations/{world['b'].pk}/")
        assert response.status_code == 404
