"""The container list's filters the cockpit links to: the generator's and the holder's region, the year
produced, the stream and the origin; the net weight shown; bad values; scope."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.manifests.conftest import MEDICAL, OIL
from tests.manifests.conftest import chain as chain  # noqa: F401  (the fixture, for this package)
from wufei.core.scope import scope_for
from wufei.registry.models import Site
from wufei.tracking import services
from wufei.tracking.models import Container

T = Decimal
YUZHONG = "500103"


@pytest.fixture
def stock(chain, make_org, member_of, make_site):  # noqa: F811
    """Banan: 2 × 0.5 t solvent this year, 0.25 t oil last year, 0.2 t medical; Kaizhou: 2.0 t oil."""
    year = timezone.localdate().year
    solvent = chain.record(count=2, tonnes="0.5")
    old = chain.record(waste_code=OIL, waste_name="废矿物油", tonnes="0.25")
    produced = timezone.localtime(old[0].produced_at)
    Container.objects.filter(pk=old[0].pk).update(produced_at=produced.replace(year=year - 1))
    medical = chain.record(waste_code=MEDICAL, waste_name="感染性废物", physical_form="solid", packaging="box",
                           tonnes="0.2")
    kaizhou = make_org("开州机械厂", region=KAIZHOU, roles=("generator",))
    admin = member_of(kaizhou, "admin")
    far = chain.record(organization=kaizhou, store=make_site(kaizhou, kind=Site.Kind.STORAGE), admin=admin,
                       waste_code=OIL, waste_name="废矿物油", tonnes="2.0")
    return {"year": year, "solvent": {c.pk for c in solvent}, "old": old[0].pk, "medical": medical[0].pk,
            "far": far[0].pk, "kaizhou_admin": admin}


def page(client, query=""):
    answer = client.get(reverse("tracking:container_list") + query)
    assert answer.status_code == 200
    body = answer.content.decode()
    codes = set(re.findall(r'href="/tracking/containers/([^/"]+)/?"', body))
    ids = set(Container.objects.filter(code__in=codes).values_list("pk", flat=True))
    total = T(re.search(r'data-testid="net-total">[^0-9<]*([0-9.]+)', body).group(1))
    return ids, total, body


def test_region_year_and_stream(chain, stock, client_for, regulator_of):  # noqa: F811
    client = client_for(regulator_of("500000"))
    year = stock["year"]
    assert page(client, f"?region={BANAN}")[:2] == (stock["solvent"] | {stock["old"], stock["medical"]}, T("1.45"))
    assert page(client, f"?region={KAIZHOU}")[:2] == ({stock["far"]}, T("2.0"))
    assert page(client, f"?region={BANAN}&year={year}")[:2] == (stock["solvent"] | {stock["medical"]}, T("1.2"))
    assert page(client, f"?region={BANAN}&year={year - 1}")[:2] == ({stock["old"]}, T("0.25"))
    assert page(client, f"?region={BANAN}&year={year}&stream=hazardous")[:2] == (stock["solvent"], T("1.0"))
    assert page(client, f"?region={BANAN}&stream=medical")[:2] == ({stock["medical"]}, T("0.2"))
    assert page(client, f"?region={BANAN}&origin=produced")[0] == stock["solvent"] | {stock["old"], stock["medical"]}
    assert page(client, "?origin=split")[0] == set()


def test_holder_region_follows_who_holds_the_container(chain, stock, client_for, regulator_of):  # noqa: F811
    client = client_for(regulator_of("500000"))
    moved = next(iter(stock["solvent"]))
    Container.objects.filter(pk=moved).update(holder=chain.receiver)  # now held in Kaizhou
    assert page(client, f"?holder_region={KAIZHOU}&in_stock=yes")[0] == {stock["far"], moved}
    assert moved not in page(client, f"?holder_region={BANAN}")[0]
    assert moved in page(client, f"?region={BANAN}")[0]  # still a Banan generator's container


def test_bad_values_are_ignored_or_named(chain, stock, client_for, regulator_of):  # noqa: F811
    client = client_for(regulator_of("500000"))
    ids, total, body = page(client, "?year=abc")
    assert len(ids) == 5 and 'id="filter-year-error"' in body
    for query, field in (("?region=5001", "region"), ("?holder_region=x", "holder-region"),
                         ("?stream=gisw", "stream")):
        ids, total, body = page(client, query)
        assert (ids, total) == (set(), T(0)) and f'id="filter-{field}-error"' in body, query
    assert page(client, "?origin=nonsense")[:2] == (set(), T(0))


def test_filters_only_narrow_the_callers_containers(chain, stock, client_for, regulator_of):  # noqa: F811
    assert page(client_for(regulator_of(YUZHONG)), f"?region={BANAN}")[:2] == (set(), T(0))
    assert page(client_for(regulator_of(BANAN)), f"?region={KAIZHOU}")[:2] == (set(), T(0))
    assert page(client_for(stock["kaizhou_admin"]), f"?region={BANAN}")[:2] == (set(), T(0))
    assert page(client_for(stock["kaizhou_admin"]), f"?holder_region={KAIZHOU}")[:2] == ({stock["far"]}, T("2.0"))
    assert services.containers_for(scope_for(chain.generator_admin), region=KAIZHOU).count() == 0
