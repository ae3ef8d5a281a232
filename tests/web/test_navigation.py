"""Navigation per role: every role finds its main pages within two links of the home page, the current section is
marked aria-current, pages another issue has not built yet stay out of the menu, the menu collapses on phones."""

import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.conftest import BANAN
from wufei.core.scope import ANONYMOUS, scope_for
from wufei.web import context_processors as nav

pytestmark = pytest.mark.django_db


def _exists(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def menu(html: str) -> dict[str, str]:
    """The main menu's entries: data-nav key → address."""
    block = html[html.index('id="main-nav"'):html.index("</nav>", html.index('id="main-nav"'))]
    return dict((key, url) for url, key in re.findall(r'<a href="([^"]+)" data-nav="([a-z_]+)"', block))


def current(html: str) -> list[str]:
    block = html[html.index('id="main-nav"'):html.index("</nav>", html.index('id="main-nav"'))]
    return re.findall(r'data-nav="([a-z_]+)" aria-current="page"', block)


def walk(client, expected: dict[str, str]) -> dict[str, str]:
    """Fetch home, follow each expected menu entry (one click), check the page answers and marks itself current."""
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200
    entries = menu(home.content.decode())
    for key, name in expected.items():
        assert entries.get(key) == reverse(name), f"{key} not in the menu: {entries}"
        page = client.get(entries[key], HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200, f"{key} {entries[key]} -> {page.status_code}"
        assert current(page.content.decode()) == [key], f"{key}: current is {current(page.content.decode())}"
    return entries


@pytest.fixture
def carrier(make_org, member_of):
    return member_of(make_org("运输公司", roles=("transporter",)), "driver")


def test_anonymous_menu_and_landing():
    client = Client()
    expected = {"verify": "manifests:verify", "catalogs": "catalog:index"}
    for key, name in (("portal", "portal:index"), ("report", "cases:report")):
        if _exists(name):
            expected[key] = name
    entries = walk(client, expected)
    assert "workspace" not in entries and "organizations" not in entries
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="public-links"' in home and reverse("manifests:verify") in home
    assert reverse("login") in home


def test_enterprise_menu(make_org, member_of, client_for):
    user = member_of(make_org("产废单位"), "admin")
    entries = walk(client_for(user), {
        "workspace": "workspace", "manifests": "manifests:list", "containers": "tracking:container_list",
        "plans": "ledgers:plan_list"})
    assert "today" not in entries  # not a carrier
    assert "import" not in entries and "indicators" not in entries
    home = client_for(user).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("workspace")}" data-testid="main-page"' in home


def test_carrier_menu_has_todays_pickups(carrier, client_for):
    entries = walk(client_for(carrier), {"workspace": "workspace", "today": "manifests:today",
                                         "manifests": "manifests:list"})
    assert list(entries).index("today") < list(entries).index("manifests")


def test_regulator_menu(regulator_of, client_for):
    expected = {"organizations": "registry:organization_list", "manifests": "manifests:list",
                "indicators": "indicators:index", "alerts": "alerts:board", "programme": "programme:plan_list",
                "import": "registry:import"}
    for key, name in (("cockpit", "analytics:cockpit"), ("complaints", "cases:list")):
        if _exists(name):
            expected[key] = name
    user = regulator_of(BANAN)
    entries = walk(client_for(user), expected)
    assert "workspace" not in entries
    home = client_for(user).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    main = "analytics:cockpit" if _exists("analytics:cockpit") else "registry:organization_list"
    assert f'href="{reverse(main)}" data-testid="main-page"' in home


def test_department_menu(department_user, client_for):
    user = department_user(BANAN)
    entries = walk(client_for(user), {"data_requests": "indicators:requests", "programme": "programme:plan_list"})
    assert "import" not in entries and "workspace" not in entries
    home = client_for(user).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("indicators:requests")}" data-testid="main-page"' in home


def test_work_is_two_links_from_home(chain_like, client_for):
    """home → workspace (menu) → the to-do item's page: the carrier's pickup is signed from there."""
    driver, manifest = chain_like
    client = client_for(driver)
    workspace = menu(client.get("/").content.decode())["workspace"]
    page = client.get(workspace).content.decode()
    link = reverse("manifests:sign", args=[manifest.pk, "pickup"])
    assert link in page
    assert client.get(link).status_code == 200


@pytest.fixture
def chain_like(make_org, member_of, make_permit):
    from wufei.manifests import services
    from wufei.registry.models import Site
    from wufei.tracking import services as tracking

    generator = make_org("产废单位甲")
    carrier = make_org("运输单位甲", roles=("transporter",))
    receiver = make_org("处置单位甲", roles=("receiver",))
    make_permit(receiver, lines=(("HW06", "100", ("D10",)),))
    admin, driver = member_of(generator, "admin"), member_of(carrier, "driver")
    store = Site.objects.create(organization=generator, code=f"{generator.uscc}001P", name="库", kind=Site.Kind.STORAGE)
    scope = scope_for(admin)
    containers = tracking.record_batch(scope=scope, organization_id=generator.pk, waste_code="900-402-06",
                                       waste_name="废有机溶剂", physical_form="liquid", packaging="drum",
                                       net_weight_tonnes="0.5", storage_site_id=store.pk, count=1)
    manifest = services.create_manifest(scope=scope, kind="hazardous", generator_id=generator.pk,
                                        receiver_id=receiver.pk, legs=[{"transporter_id": carrier.pk}],
                                        container_codes=[c.code for c in containers])
    services.sign(scope=scope, manifest_id=manifest.pk, step="submit", version=manifest.version)
    return driver, manifest


def test_most_specific_entry_is_current(carrier):
    items = nav.navigation_items(scope_for(carrier), reverse("manifests:today"))
    assert [i["key"] for i in items if i["current"]] == ["today"]
    items = nav.navigation_items(scope_for(carrier), reverse("manifests:list") + "123/")
    assert [i["key"] for i in items if i["current"]] == ["manifests"]
    assert not any(i["current"] for i in nav.navigation_items(scope_for(carrier), "/"))


def test_pages_not_built_yet_stay_out(monkeypatch):
    monkeypatch.setattr(nav, "PUBLIC", (("nowhere", "Nowhere", "nowhere:index"),) + nav.PUBLIC)
    keys = [i["key"] for i in nav.navigation_items(ANONYMOUS, "/")]
    assert "nowhere" not in keys and "verify" in keys


def test_menu_is_collapsible_and_the_skip_link_stays(client):
    html = client.get("/").content.decode()
    assert 'class="menu-toggle" aria-controls="main-nav" aria-expanded="false"' in html
    assert '<a class="skip" href="#main">' in html and '<main id="main">' in html
