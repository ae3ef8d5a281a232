"""Ledger API and pages: the happy paths, and who may rebuild."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.ledgers.test_ledger import W1, W2, build_world
from wufei.ledgers import compute, containers, ledger_views
from wufei.ledgers.export import XLSX_MIME
from wufei.ledgers.models import LedgerMonth

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_org, make_site, make_user):
    return build_world(make_org, make_site, make_user)


@pytest.fixture
def browser(client_for):
    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def api(org, suffix=""):
    return f"/api/v1/ledgers/{org.pk}/2026{suffix}"


def test_rebuild_then_read_the_ledger(world, member_of, client_for):
    client = client_for(member_of(world["g"], "member"))
    response = client.post(api(world["g"], "/rebuild"))
    assert response.status_code == 200 and response.json()["rows"] == 24
    assert LedgerMonth.objects.filter(organization=world["g"]).count() == 24
    assert not LedgerMonth.objects.filter(organization=world["r"]).exists()
    body = client.get(api(world["g"])).json()
    assert body["organization"]["uscc"] == world["g"].uscc and body["built_at"]
    assert len(body["months"]) == 24
    march = next(m for m in body["months"] if m["waste"] == W1 and m["month"] == 3)
    assert march["closing_stock"] == "0.770000" and march["stored_out"] == "0.980000"
    summary = {s["waste"]: s for s in body["year_summary"]}
    assert summary[W2]["opening_stock"] == "0.400000" and summary[W1]["containers"] == 5


def test_container_lines(world, member_of, client_for):
    client = client_for(member_of(world["g"], "reader"))
    body = client.get(api(world["g"], "/containers")).json()
    assert set(body["tables"]) == set(containers.TABLES)
    assert len(body["tables"]["generation"]) == 7 and body["tables"]["generation"][0]["unit"] == "t"
    only = client.get(api(world["g"], "/containers?table=entrusted&month=2")).json()
    assert list(only["tables"]) == ["entrusted"]
    assert [line["batch_code"] for line in only["tables"]["entrusted"]] == [world["c"]["c1"].code]
    assert only["tables"]["entrusted"][0]["manifest"] == "M001"
    assert client.get(api(world["g"], "/containers?table=nonsense")).status_code == 422


def test_mass_balance(world, regulator_of, client_for):
    client = client_for(regulator_of("500113"))
    body = client.get(api(world["g"], "/mass-balance")).json()
    codes = {c["waste"]: c for c in body["codes"]}
    assert body["balanced"] is False and body["ledger_current"] is False
    assert codes[W1]["difference"] == "-0.020000" and not codes[W1]["balanced"]
    assert [r["type"] for r in codes[W1]["records"]].count("reweigh") == 1
    assert codes[W2]["balanced"] is True


def test_export(world, member_of, client_for):
    client = client_for(member_of(world["g"], "reader"))
    response = client.get(api(world["g"], "/export.xlsx"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX_MIME
    assert "产生环节记录表" in load_workbook(io.BytesIO(response.content)).sheetnames


def test_readers_may_not_rebuild(world, member_of, client_for):
    response = client_for(member_of(world["g"], "reader")).post(api(world["g"], "/rebuild"))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not LedgerMonth.objects.exists()


def test_regulators_of_the_region_may_rebuild(world, regulator_of, client_for):
    response = client_for(regulator_of("500154")).post(api(world["r"], "/rebuild"))
    assert response.status_code == 200 and response.json()["rows"] == 21


def test_a_bad_year_is_refused(world, platform_admin, client_for):
    assert client_for(platform_admin).get(f"/api/v1/ledgers/{world['g'].pk}/1900").status_code == 422


# --- pages ------------------------------------------------------------------------------------------

def test_ledger_page(world, member_of, browser):
    compute.build_ledger(year=2026)
    client = browser(member_of(world["g"], "admin"))
    response = client.get(reverse("ledgers:ledger", args=[world["g"].pk, 2026]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (world["g"].name, W1, W2, "0.77", "Mass balance", "not balanced", "balanced", world["c"]["c2"].code,
                 "weight adjustment", "handed over, not received", "Rebuild from the scan events",
                 reverse("ledgers:ledger_export", args=[world["g"].pk, 2026])):
        assert text in page, text
    assert 'data-testid="stale"' not in page
    assert client.get(reverse("ledgers:ledger_current", args=[world["g"].pk])).status_code == 302


def test_ledger_page_rebuild_and_export(world, member_of, browser):
    client = browser(member_of(world["g"], "member"))
    page = client.get(reverse("ledgers:ledger", args=[world["g"].pk, 2026])).content.decode()
    assert "has not been built yet" in page
    response = client.post(reverse("ledgers:ledger_rebuild", args=[world["g"].pk, 2026]))
    assert response.status_code == 302 and LedgerMonth.objects.filter(organization=world["g"]).count() == 24
    export = client.get(reverse("ledgers:ledger_export", args=[world["g"].pk, 2026]))
    assert export.status_code == 200 and export["Content-Type"] == XLSX_MIME


def test_readers_see_no_rebuild_button_and_cannot_post(world, member_of, browser):
    client = browser(member_of(world["g"], "reader"))
    page = client.get(reverse("ledgers:ledger", args=[world["g"].pk, 2026])).content.decode()
    assert "Rebuild from the scan events" not in page
    assert client.post(reverse("ledgers:ledger_rebuild", args=[world["g"].pk, 2026])).status_code == 403


def test_ledger_section_on_the_organization_page(world, member_of, browser, monkeypatch):
    monkeypatch.setattr(ledger_views, "current_year", lambda: 2026)
    compute.build_ledger(year=2026)
    client = browser(member_of(world["g"], "reader"))
    page = client.get(reverse("registry:organization_detail", args=[world["g"].pk])).content.decode()
    assert 'id="ledger"' in page and 'data-testid="ledger-year"' in page
    assert reverse("ledgers:ledger", args=[world["g"].pk, 2026]) in page
    assert "2.25" in page and "0.77" in page  # W1 generated and closing this year


def test_a_bad_month_is_refused(world, platform_admin, client_for):
    response = client_for(platform_admin).get(f"/api/v1/ledgers/{world['g'].pk}/2026/containers?month=13")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "month"
