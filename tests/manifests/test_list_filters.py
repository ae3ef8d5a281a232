"""The manifest list's filters the cockpit links to: year received, side of the region, receiver, waste
category, method and method kind; the accepted tonnes shown; bad values; scope."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.manifests.conftest import OIL, draft, run
from wufei.core.scope import scope_for
from wufei.manifests import services
from wufei.manifests.models import Manifest

T = Decimal
YUZHONG = "500103"


def through(chain, containers, *, planned="D10", method="D10", received=None):
    manifest = draft(chain, containers, planned_method=planned)
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    total = sum((c.net_weight_tonnes for c in containers), T(0))
    run(chain, manifest, "receive", "receiver_admin", received_tonnes=str(received or total))
    if method:
        run(chain, manifest, "process", "receiver_admin", method=method)
    return Manifest.objects.get(pk=manifest.pk)


@pytest.fixture
def listed(chain):
    """solvent: 2 × 0.5 t HW06 by D10; oil: 0.4 t HW08 received, planned R9; old: 0.3 t HW06 received last
    year; mixed: 0.2 t HW06 + 0.1 t HW08 by D10; draft: not received."""
    year = timezone.localdate().year
    solvent = through(chain, chain.record(count=2, tonnes="0.5"))
    oil = through(chain, chain.record(waste_code=OIL, waste_name="废矿物油", tonnes="0.4"), planned="R9", method=None)
    old = through(chain, chain.record(tonnes="0.3"))
    received = timezone.localtime(old.received_at)
    Manifest.objects.filter(pk=old.pk).update(received_at=received.replace(year=year - 1))
    mixed = through(chain, chain.record(tonnes="0.2") + chain.record(waste_code=OIL, waste_name="废矿物油",
                                                                       tonnes="0.1"))
    plain = draft(chain, chain.record())
    return {"year": year, "solvent": solvent.pk, "oil": oil.pk, "old": old.pk, "mixed": mixed.pk,
            "draft": plain.pk}


def page(client, query=""):
    answer = client.get(reverse("manifests:list") + query)
    assert answer.status_code == 200
    body = answer.content.decode()
    ids = {int(pk) for pk in re.findall(r'data-testid="manifest-(\d+)"', body)}
    total = T(re.search(r'data-testid="accepted-total">[^0-9<]*([0-9.]+)', body).group(1))
    return ids, total, body


def test_year_counts_manifests_received_in_that_year(chain, listed, client_for):
    client = client_for(chain.generator_admin)
    ids, total, body = page(client, f"?year={listed['year']}")
    assert ids == {listed["solvent"], listed["oil"], listed["mixed"]}
    assert total == T("1.7")
    assert re.search(r'data-testid="count-processed"[^>]*>[^<]*\(2\)', body)
    assert re.search(r'data-testid="count-received"[^>]*>[^<]*\(1\)', body)
    ids, total, _body = page(client, f"?year={listed['year'] - 1}")
    assert ids == {listed["old"]} and total == T("0.3")
    # the status links keep the other filters
    assert f"year={listed['year']}" in re.search(r'href="\?([^"]*)" data-testid="count-received"', body).group(1)


def test_side_narrows_the_region_to_one_party(chain, listed, client_for):
    client = client_for(chain.generator_admin)
    everything = set(listed.values()) - {listed["year"]}
    assert page(client, f"?region={KAIZHOU}")[0] == everything  # the receiver's district
    assert page(client, f"?region={KAIZHOU}&side=generator")[0] == set()
    assert page(client, f"?region={KAIZHOU}&side=receiver")[0] == everything
    assert page(client, f"?region={BANAN}&side=generator")[0] == everything
    assert page(client, f"?region={BANAN}&side=receiver")[0] == set()


def test_receiver_is_the_receiver_only_organization_any_party(chain, listed, client_for):
    client = client_for(chain.generator_admin)
    everything = set(listed.values()) - {listed["year"]}
    assert page(client, f"?receiver={chain.receiver.pk}")[0] == everything
    assert page(client, f"?receiver={chain.transporter.pk}")[0] == set()
    assert page(client, f"?organization={chain.transporter.pk}")[0] == everything


def test_category_and_method_count_the_matching_lines(chain, listed, client_for):
    client = client_for(chain.generator_admin)
    year = listed["year"]
    ids, total, body = page(client, f"?year={year}&category=HW08")
    assert ids == {listed["oil"], listed["mixed"]} and total == T("0.5")  # the mixed manifest's oil line only
    assert re.search(rf'data-testid="manifest-{listed["mixed"]}".*?data-accepted="0\.1', body, re.S)
    ids, total, _body = page(client, f"?year={year}&category=hw06")
    assert ids == {listed["solvent"], listed["mixed"]} and total == T("1.2")
    assert page(client, f"?year={year}&category=medical")[:2] == (set(), T(0))
    ids, total, _body = page(client, f"?year={year}&method=R9")  # not processed: the planned method
    assert ids == {listed["oil"]} and total == T("0.4")
    ids, total, _body = page(client, f"?year={year}&method=D10&category=HW08")  # one line matching both
    assert ids == {listed["mixed"]} and total == T("0.1")
    assert page(client, f"?year={year}&method_kind=utilization")[:2] == ({listed["oil"]}, T("0.4"))
    assert page(client, f"?year={year}&method_kind=disposal")[:2] == ({listed["solvent"], listed["mixed"]},
                                                                     T("1.3"))
    assert page(client, "?method=none")[0] == set()


def test_bad_values_are_ignored_with_a_message(chain, listed, client_for, english):
    client = client_for(chain.generator_admin)
    everything = set(listed.values()) - {listed["year"]}
    for query in ("?year=abc", "?year=1900", "?category=<x>", "?method=ZZ9", "?method_kind=burn", "?side=up",
                  "?receiver=x", "?region=5001", "?status=nonsense,received"):
        ids, _total, body = page(client, query)
        assert ids == everything, query
    assert 'id="filter-year-error"' in page(client, "?year=abc")[2]
    assert 'id="filter-category-error"' in page(client, "?category=<x>")[2]
    assert 'id="filter-method-error"' in page(client, "?method=ZZ9")[2]


def test_filters_only_narrow_the_callers_manifests(chain, listed, client_for, regulator_of, make_org,
                                                  member_of):
    query = f"?year={listed['year']}&region={BANAN}&side=generator&category=HW06&status=received,processed"
    assert page(client_for(regulator_of(BANAN)), query)[:2] == ({listed["solvent"], listed["mixed"]}, T("1.2"))
    assert page(client_for(regulator_of(YUZHONG)), query)[:2] == (set(), T(0))
    stranger = member_of(make_org("另一家企业", region=BANAN), "admin")
    assert page(client_for(stranger), query)[:2] == (set(), T(0))
    assert services.manifests_for(scope_for(stranger), year=listed["year"]).count() == 0


def test_year_is_the_shanghai_calendar_year(chain, listed):
    scope = scope_for(chain.generator_admin)
    year = listed["year"]
    edge = dt.datetime(year, 1, 1, 0, 30, tzinfo=timezone.get_default_timezone())  # 16:30 UTC on 31 December before
    Manifest.objects.filter(pk=listed["old"]).update(received_at=edge)
    assert services.manifests_for(scope, year=year).filter(pk=listed["old"]).exists()
    assert not services.manifests_for(scope, year=year - 1).filter(pk=listed["old"]).exists()
