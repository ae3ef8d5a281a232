import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import BANAN
from tests.manifests import conftest as manifests_conftest
from tests.manifests.conftest import draft, run
from wufei.core import audit
from wufei.core.scope import scope_for
from wufei.ledgers.models import AnnualDeclaration, DeclarationStatus, ManagementPlan, ReviewStatus
from wufei.manifests import services as manifests
from wufei.manifests.models import Manifest
from wufei.registry import views as registry_views
from wufei.tracking.models import Container
from wufei.web import todo

WORKSPACE = "/workspace/"
chain = manifests_conftest.chain  # the manifests' transfer chain (generator, carriers, receiver), as a fixture here


def test_workspace_lists_only_the_callers_units_with_their_sections(make_org, member_of, client_for, monkeypatch):
    from django.template import Template

    mine, other = make_org("我的单位"), make_org("别人的单位")
    section = registry_views.OrganizationSection(
        key="probe", title="探针", template=Template("<p>probe for {{ organization.name }}: {{ section.data.n }}</p>"),
        data=lambda scope, org: {"n": 42})
    monkeypatch.setitem(registry_views.ORGANIZATION_SECTIONS, "probe", section)
    page = client_for(member_of(mine)).get("/workspace/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "我的单位" in text and "probe for 我的单位: 42" in text
    assert other.name not in text


def test_workspace_without_units_says_so(regulator_of, client_for):
    page = client_for(regulator_of()).get("/workspace/", HTTP_ACCEPT_LANGUAGE="en")
    assert "does not act for any organization" in page.content.decode()


@pytest.mark.django_db
def test_workspace_needs_login(client):
    assert client.get("/workspace/").status_code == 302


# --- the to-do list ------------------------------------------------------------------------------

def keys(scope_user, organization, **kwargs) -> dict[str, todo.TodoItem]:
    return {item.key: item for item in todo.todo_for(scope_for(scope_user), organization, **kwargs)}


def page_of(client_for, user) -> str:
    return client_for(user).get(WORKSPACE, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def unit_html(page: str, organization) -> str:
    start = page.index(f'data-testid="unit-{organization.pk}"')
    end = page.find("</article>", start)
    return page[start:end]


def file_paperwork(organization, today: dt.date) -> None:
    """This year's plan and last year's declaration, both filed (they leave the to-do)."""
    with audit.acting_as("test"):
        ManagementPlan.objects.create(organization=organization, year=today.year, status=ReviewStatus.SUBMITTED,
                                      due_date=dt.date(today.year, 3, 31))
        AnnualDeclaration.objects.create(organization=organization, year=today.year - 1,
                                         status=DeclarationStatus.SUBMITTED, due_date=dt.date(today.year, 3, 31))


def test_storage_items_follow_the_containers_age(chain):
    now = timezone.now()
    old, older, fresh = chain.record(count=3)
    file_paperwork(chain.generator, timezone.localdate())
    assert keys(chain.generator_admin, chain.generator, now=now) == {}
    # 350 days in store: within the 30-day warning of the 365-day limit; 400 days: over it
    Container.objects.filter(pk=old.pk).update(stored_at=now - dt.timedelta(days=350))
    Container.objects.filter(pk=older.pk).update(stored_at=now - dt.timedelta(days=400))
    items = keys(chain.generator_admin, chain.generator, now=now)
    assert (items["storage_over"].count, items["storage_near"].count) == (1, 1)
    assert items["storage_over"].overdue and not items["storage_near"].overdue
    assert items["storage_over"].deadline == timezone.localtime(now - dt.timedelta(days=400)
                                                                + dt.timedelta(days=365)).date()
    assert items["storage_near"].deadline == timezone.localtime(now + dt.timedelta(days=15)).date()
    assert items["storage_over"].url == reverse("tracking:inventory") + f"?organization={chain.generator.pk}"
    assert list(items) == ["storage_over", "storage_near"]  # overdue first
    # the over-limit one leaves the stock on a manifest: only the near one is left
    Container.objects.filter(pk=older.pk).update(status="transferred")
    assert set(keys(chain.generator_admin, chain.generator, now=now)) == {"storage_near"}
    # a regional override of storage.max_days moves the boundary (the parameters in force are used)
    from wufei.core.models import Parameter

    Parameter.objects.create(key="storage.max_days", region_code=BANAN, value=340)
    assert set(keys(chain.generator_admin, chain.generator, now=now)) == {"storage_over"}


def test_manifest_items_move_from_party_to_party(chain):
    today = timezone.localdate()
    file_paperwork(chain.generator, today)
    manifest = draft(chain, chain.record(count=2))
    generator = keys(chain.generator_admin, chain.generator)
    assert set(generator) == {"manifest_submit"}
    assert generator["manifest_submit"].count == 1
    assert generator["manifest_submit"].url == reverse("manifests:sign", args=[manifest.pk, "submit"])
    assert keys(chain.transporter_admin, chain.transporter) == {}
    assert keys(chain.driver, chain.transporter) == {}

    run(chain, manifest, "submit", "generator_admin")
    assert keys(chain.generator_admin, chain.generator) == {}
    carrier = keys(chain.driver, chain.transporter)  # drivers sign pickups: their to-do has it
    assert set(carrier) == {"manifest_pickup"} and carrier["manifest_pickup"].count == 1
    assert carrier["manifest_pickup"].entries[0].url == reverse("manifests:sign", args=[manifest.pk, "pickup"])
    assert keys(chain.receiver_admin, chain.receiver) == {}

    run(chain, manifest, "pickup", "driver")
    assert keys(chain.driver, chain.transporter) == {}
    receiver = keys(chain.receiver_admin, chain.receiver)
    assert set(receiver) == {"manifest_receive"}
    item = receiver["manifest_receive"]
    assert item.entries[0].url == reverse("manifests:sign", args=[manifest.pk, "receive"])
    assert item.deadline is not None and not item.overdue
    # picked up long ago: overdue (manifest.receipt_working_days), listed first
    Manifest.objects.filter(pk=manifest.pk).update(picked_up_at=timezone.now() - dt.timedelta(days=20))
    assert keys(chain.receiver_admin, chain.receiver)["manifest_receive"].overdue

    run(chain, manifest, "receive", "receiver_admin")
    assert set(keys(chain.receiver_admin, chain.receiver)) == {"manifest_process"}
    run(chain, manifest, "process", "receiver_admin", methods={"1": "D10"}, processed_on=today.isoformat())
    assert keys(chain.receiver_admin, chain.receiver) == {}


def test_overdue_manifests_come_first(chain):
    file_paperwork(chain.generator, timezone.localdate())
    late, recent = draft(chain, chain.record()), draft(chain, chain.record())
    for manifest in (late, recent):
        run(chain, manifest, "submit", "generator_admin")
        run(chain, manifest, "pickup", "driver")
    Manifest.objects.filter(pk=late.pk).update(picked_up_at=timezone.now() - dt.timedelta(days=20))
    item = keys(chain.receiver_admin, chain.receiver)["manifest_receive"]
    assert item.count == 2 and item.overdue
    assert [e.url for e in item.entries] == [reverse("manifests:sign", args=[m.pk, "receive"]) for m in (late, recent)]
    assert [e.overdue for e in item.entries] == [True, False]


def test_handover_item_for_the_next_carrier(chain):
    manifest = draft(chain, chain.record(), legs=[{"transporter_id": chain.transporter.pk,
                                                   "vehicle_id": chain.vehicle.pk},
                                                  {"transporter_id": chain.second_carrier.pk}])
    run(chain, manifest, "submit", "generator_admin")
    assert keys(chain.second_admin, chain.second_carrier) == {}  # pickup is the first carrier's
    run(chain, manifest, "pickup", "driver")
    item = keys(chain.second_admin, chain.second_carrier)["manifest_handover"]
    assert item.url == reverse("manifests:sign", args=[manifest.pk, "handover"])
    assert "manifest_handover" not in keys(chain.driver, chain.transporter)  # the next carrier signs it


def test_plan_and_declaration_items(chain):
    now = timezone.make_aware(dt.datetime(2026, 2, 10, 9))
    items = keys(chain.generator_admin, chain.generator, now=now)
    assert (items["plan"].deadline, items["plan"].overdue) == (dt.date(2026, 3, 31), False)
    assert (items["declaration"].deadline, items["declaration"].overdue) == (dt.date(2026, 3, 31), False)
    assert items["plan"].url == reverse("ledgers:plan_list") + "?year=2026"
    late = keys(chain.generator_admin, chain.generator, now=now + dt.timedelta(days=60))
    assert late["plan"].overdue and late["declaration"].overdue
    with audit.acting_as("test"):
        plan = ManagementPlan.objects.create(organization=chain.generator, year=2026, due_date=dt.date(2026, 3, 31))
    assert keys(chain.generator_admin, chain.generator, now=now)["plan"].url == reverse("ledgers:plan_detail",
                                                                                       args=[plan.pk])
    file_paperwork(chain.generator, now.date())
    assert keys(chain.generator_admin, chain.generator, now=now) == {}
    # carriers and receivers file no generator's plan
    assert "plan" not in keys(chain.transporter_admin, chain.transporter, now=now)


def _alert(organization, status, deadline=None):
    from wufei.alerts.models import Alert
    from wufei.alerts.scanner import ensure_rules

    ensure_rules()
    now = timezone.now()
    with audit.acting_as("test"):
        return Alert.objects.create(rule_id="storage.over_limit", level="orange", entity_type="organization",
                                    entity_id=str(organization.pk), entity_label=organization.name,
                                    organization=organization, region_id=organization.region_id,
                                    region_path=organization.region.path, status=status, deadline=deadline,
                                    message="贮存超期", opened_at=now, last_seen_at=now)


def test_alert_items(chain):
    file_paperwork(chain.generator, timezone.localdate())
    _alert(chain.generator, "open")
    assert "alerts" not in keys(chain.generator_admin, chain.generator)  # the regulator has not acted yet
    alert = _alert(chain.receiver, "rectifying", deadline=timezone.localdate() - dt.timedelta(days=1))
    assert "alerts" not in keys(chain.generator_admin, chain.generator)
    item = keys(chain.receiver_admin, chain.receiver)["alerts"]
    assert (item.count, item.overdue, item.url) == (1, True, reverse("alerts:detail", args=[alert.pk]))
    alert.status = "closed"
    with audit.acting_as("test"):
        alert.save()
    assert "alerts" not in keys(chain.receiver_admin, chain.receiver)


def test_revision_awaiting_approval(chain):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    manifests.request_revision(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                               version=manifest.version, reason="补充", changes={"emergency_measures": "吸附棉"})
    item = keys(chain.transporter_admin, chain.transporter)["revisions"]
    assert item.count == 1 and item.url == reverse("manifests:detail", args=[manifest.pk]) + "#revisions"
    assert "revisions" not in keys(chain.generator_admin, chain.generator)  # the requester approves nothing
    assert "revisions" not in keys(chain.driver, chain.transporter)  # a driver does not decide revisions


def test_another_units_items_never_appear(chain, make_org, member_of, make_site, client_for):
    other = make_org("乙方化工有限公司", region=BANAN, roles=("generator",))
    other_admin = member_of(other, "admin")
    other_store = make_site(other, name="乙库")
    theirs = chain.record(organization=other, store=other_store, admin=other_admin)
    Container.objects.filter(pk=theirs[0].pk).update(stored_at=timezone.now() - dt.timedelta(days=400))
    their_manifest = manifests.create_manifest(
        scope=scope_for(other_admin), kind="hazardous", generator_id=other.pk, receiver_id=chain.receiver.pk,
        legs=[{"transporter_id": chain.transporter.pk}], container_codes=[theirs[0].code])
    # A's admin: nothing of B, even asking for B directly
    assert todo.todo_for(scope_for(chain.generator_admin), other) == []
    page = page_of(client_for, chain.generator_admin)
    assert other.name not in page and their_manifest.pk not in [int(x) for x in re.findall(r"/manifests/(\d+)/", page)]
    # B sees its own
    assert {"storage_over", "manifest_submit"} <= set(keys(other_admin, other))
    # the carrier named on B's draft has nothing until B submits
    assert "manifest_pickup" not in keys(chain.transporter_admin, chain.transporter)


def test_workspace_page_shows_items_badges_links_and_empty_state(chain, client_for):
    file_paperwork(chain.generator, timezone.localdate())
    manifest = draft(chain, chain.record(count=2))
    page = page_of(client_for, chain.generator_admin)
    unit = unit_html(page, chain.generator)
    assert 'data-todo="manifest_submit"' in unit and 'data-testid="count-manifest_submit">1<' in unit
    assert 'data-testid="todo-count">1<' in unit
    assert reverse("manifests:sign", args=[manifest.pk, "submit"]) in unit
    assert unit.index('data-testid="todo-') < unit.index('id="manifests-')  # the to-do comes before the sections
    # the carrier's to-do is empty, and says so
    carrier = unit_html(page_of(client_for, chain.transporter_admin), chain.transporter)
    assert 'data-testid="todo-empty"' in carrier and 'data-testid="todo-count">0<' in carrier


def test_quick_actions(chain, client_for):
    made_today = chain.record(count=2)
    page = page_of(client_for, chain.generator_admin)
    unit = unit_html(page, chain.generator)
    assert f'href="{reverse("tracking:record")}?organization={chain.generator.pk}"' in unit
    assert f'href="{reverse("manifests:create")}?generator={chain.generator.pk}"' in unit
    labels = re.search(r'href="([^"]+)" data-action="labels"', unit).group(1).replace("&amp;", "&")
    assert labels.startswith(reverse("tracking:labels") + "?codes=")
    assert sorted(labels.split("codes=")[1].split("&")[0].split("%2C")) == sorted(c.code for c in made_today)
    response = client_for(chain.generator_admin).get(labels)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'data-action="today"' not in unit and 'data-action="check_in"' not in unit
    carrier = unit_html(page_of(client_for, chain.driver), chain.transporter)
    assert f'href="{reverse("manifests:today")}" data-action="today"' in carrier
    assert 'data-action="record"' not in carrier
    receiver = unit_html(page_of(client_for, chain.receiver_admin), chain.receiver)
    assert f'href="{reverse("manifests:bulk_sign")}?step=receive" data-action="check_in"' in receiver
