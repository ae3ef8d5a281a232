"""五即 recording, scans against the declarative table, re-weighs, merge / split, trace."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN, KAIZHOU
from tests.tracking import MEDICAL, OIL, SOLVENT, make_plant, record
from wufei.core import audit
from wufei.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from wufei.core.models import AuditEvent, Parameter
from wufei.core.scope import Scope, scope_for
from wufei.registry.models import Site
from wufei.tracking import codes, life, services
from wufei.tracking.models import Container, ContainerOrigin, ContainerStatus, ScanEvent, ScanKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


def state(container):
    row = Container.objects.get(pk=container.pk)
    return (row.status, row.net_weight_tonnes, row.holder_id, row.version, row.events.count())


# --- 五即 ----------------------------------------------------------------------------------------

def test_five_immediates_in_one_step(plant):
    [container] = record(plant, weight="0.215")
    assert container.status == ContainerStatus.STORED
    assert container.hazards == "T,I,R"  # from the catalog
    assert container.storage_site == plant["store"]
    assert [e.kind for e in container.events.all()] == list(services.FIVE_STEP_KINDS)
    assert {e.weight_tonnes for e in container.events.all()} == {Decimal("0.215")}
    assert {e.organization_id for e in container.events.all()} == {plant["org"].pk}
    assert all(e.actor_id == plant["admin"].pk for e in container.events.all())
    assert container.produced_at == container.packed_at == container.weighed_at == container.coded_at \
        == container.stored_at
    links = AuditEvent.objects.filter(entity_type="tracking.container", entity_id=str(container.pk))
    assert links.count() == 1
    assert [e["kind"] for e in links.get().payload["events"]] == list(services.FIVE_STEP_KINDS)
    assert audit.verify_chain().ok


def test_count_gives_each_container_its_own_code(plant):
    containers = record(plant, count=12)
    assert len({c.code for c in containers}) == 12
    assert [codes.parse_code(c.code).sequence for c in containers] == list(range(1, 13))
    assert ScanEvent.objects.count() == 12 * 5


def test_step_by_step(plant):
    [container] = record(plant, weight=None, steps=("produced",))
    assert container.status == ContainerStatus.PRODUCED and container.net_weight_tonnes is None
    code, scope = container.code, plant["scope"]
    services.advance(scope=scope, code=code, step="packed")
    with pytest.raises(RuleViolation, match="needs net weight"):
        services.advance(scope=scope, code=code, step="stored", storage_site_id=plant["store"].pk)
    with pytest.raises(ValidationFailed):
        services.advance(scope=scope, code=code, step="weighed")  # no weight
    services.advance(scope=scope, code=code, step="weighed", net_weight_tonnes="0.180")
    services.advance(scope=scope, code=code, step="coded")
    container = services.advance(scope=scope, code=code, step="stored", storage_site_id=plant["store"].pk,
                                 storage_location="B-02")
    assert container.status == ContainerStatus.STORED and container.storage_location == "B-02"
    assert container.net_weight_tonnes == Decimal("0.18")
    events = list(container.events.order_by("id"))
    assert [e.kind for e in events] == list(services.FIVE_STEP_KINDS)
    assert [e.weight_tonnes for e in events] == [None, None, Decimal("0.18"), Decimal("0.18"), Decimal("0.18")]
    assert audit.verify_chain().ok


def test_partial_steps_must_follow_the_table(plant):
    with pytest.raises(ValidationFailed) as caught:
        record(plant, weight=None, steps=("produced", "packed", "coded", "stored"))
    assert any(e["field"] == "steps" and "net weight" in e["message"] for e in caught.value.errors)
    with pytest.raises(ValidationFailed) as caught:
        record(plant, steps=("packed",))
    assert caught.value.errors[0]["field"] == "steps"
    with pytest.raises(ValidationFailed) as caught:
        record(plant, weight="1", steps=("produced", "packed"))
    assert caught.value.errors[0]["field"] == "net_weight_tonnes"
    assert Container.objects.count() == 0


@pytest.mark.parametrize("field, value", [
    ("waste_code", "999-999-99"), ("physical_form", "plasma"), ("packaging", "sack"),
    ("net_weight_tonnes", "-1"), ("count", 0), ("hazards", "X"), ("produced_at", "tomorrow"),
])
def test_bad_fields_are_named(plant, field, value):
    with pytest.raises(ValidationFailed) as caught:
        record(plant, **{field: value})
    assert field in {e["field"] for e in caught.value.errors}
    assert Container.objects.count() == 0


def test_sites_must_belong_to_the_unit_and_storage_must_be_a_store(plant, make_org, make_site):
    other = make_site(make_org(), kind=Site.Kind.STORAGE)
    with pytest.raises(ValidationFailed) as caught:
        record(plant, storage_site_id=other.pk)
    assert caught.value.errors[0]["field"] == "storage_site_id"
    with pytest.raises(ValidationFailed) as caught:
        record(plant, storage_site_id=plant["workshop"].pk)
    assert "not a storage facility" in caught.value.errors[0]["message"]


def test_closed_or_non_generator_units_cannot_record(plant, make_org, member_of):
    transporter = make_org(roles=("transporter",))
    with pytest.raises(RuleViolation):
        services.record_batch(scope=scope_for(member_of(transporter)), organization_id=transporter.pk,
                              waste_code=SOLVENT, waste_name="x", physical_form="liquid", packaging="drum",
                              steps=("produced",))
    plant["org"].status = "closed"
    plant["org"].save()
    with pytest.raises(RuleViolation, match="closed"):
        record(plant)


def test_readers_and_regulators_cannot_record(plant, member_of, regulator_of):
    for user in (member_of(plant["org"], "reader"), regulator_of(BANAN)):
        with pytest.raises(PermissionDenied):
            services.record_batch(scope=scope_for(user), organization_id=plant["org"].pk, waste_code=SOLVENT,
                                  waste_name="x", physical_form="liquid", packaging="drum", steps=("produced",))


# --- scans ------------------------------------------------------------------------------------

@pytest.fixture
def chain(make_org, member_of, make_permit, make_site):
    collector = make_org("巴南小微危废收集站", region=BANAN, roles=("collector",))
    receiver = make_org("重庆危废处置中心", region=KAIZHOU, roles=("receiver",))
    make_permit(receiver, lines=(("HW06", "5000", ("D10", "R2")),))
    return {"collector": collector, "c_scope": scope_for(member_of(collector)),
            "c_store": make_site(collector, kind=Site.Kind.COLLECTION_POINT, name="收集点"),
            "receiver": receiver, "r_scope": scope_for(member_of(receiver)),
            "r_store": make_site(receiver, kind=Site.Kind.STORAGE, name="处置中心暂存库")}


def test_the_whole_journey(plant, chain):
    [container] = record(plant, weight="0.2")
    code = container.code
    services.scan(scope=plant["scope"], code=code, kind="loaded")
    services.scan(scope=plant["scope"], code=code, kind="handed_over", to_organization_id=chain["collector"].pk,
                  reference="MF-1")
    with pytest.raises(PermissionDenied):  # the generator no longer holds it
        services.scan(scope=plant["scope"], code=code, kind="received")
    services.scan(scope=chain["c_scope"], code=code, kind="received")
    services.scan(scope=chain["c_scope"], code=code, kind="stored", site_id=chain["c_store"].pk)
    services.scan(scope=chain["c_scope"], code=code, kind="loaded")
    services.scan(scope=chain["c_scope"], code=code, kind="handed_over", to_organization_id=chain["receiver"].pk)
    event = services.scan(scope=chain["r_scope"], code=code, kind="received", weight_tonnes="0.199",
                          site_id=chain["r_store"].pk)
    assert event.expected_weight_tonnes == Decimal("0.2") and not event.discrepancy  # 0.5 % < 2 %
    with pytest.raises(RuleViolation, match="no valid operating permit"):
        services.scan(scope=chain["r_scope"], code=code, kind="disposed", method_code="D1")
    with pytest.raises(ValidationFailed, match="not a disposal method"):
        services.scan(scope=chain["r_scope"], code=code, kind="disposed", method_code="R2")
    services.scan(scope=chain["r_scope"], code=code, kind="disposed", method_code="D10")
    container.refresh_from_db()
    assert container.status == ContainerStatus.DISPOSED and container.holder == chain["receiver"]
    result = services.trace(Scope(is_platform_admin=True), code)
    assert [p["organization_id"] for p in result["custody"]] == [plant["org"].pk, chain["collector"].pk,
                                                                 chain["receiver"].pk]
    assert [e.kind for e in result["events"]][5:] == ["loaded", "handed_over", "received", "stored", "loaded",
                                                      "handed_over", "received", "disposed"]
    # the generator still sees its container and its whole history
    assert services.get_container(plant["scope"], code).status == ContainerStatus.DISPOSED
    assert audit.verify_chain().ok


def test_refused_transitions_leave_the_container_unchanged(plant, chain):
    [container] = record(plant)
    before = state(container)
    attempts = [
        dict(kind="received"),  # stored → received: not in the table
        dict(kind="disposed", method_code="D10"),
        dict(kind="handed_over"),  # no receiving organization
        dict(kind="handed_over", to_organization_id=plant["org"].pk),  # itself
        dict(kind="self_utilized", method_code="D10"),  # a disposal code for utilization
        dict(kind="packed"),
        dict(kind="merged"),
        dict(kind="loaded", occurred_at=timezone.now() - dt.timedelta(days=3)),  # before its last event
        dict(kind="loaded", occurred_at=timezone.now() + dt.timedelta(days=1)),
    ]
    for attempt in attempts:
        with pytest.raises((RuleViolation, ValidationFailed)):
            services.scan(scope=plant["scope"], code=container.code, **attempt)
    assert state(container) == before
    assert audit.verify_chain().ok


def test_refusal_names_the_status_and_allowed_scans(plant):
    [container] = record(plant)
    with pytest.raises(RuleViolation) as caught:
        services.scan(scope=plant["scope"], code=container.code, kind="received")
    message = caught.value.message
    assert "in storage" in message and "loaded" in message and "handed over" in message
    assert caught.value.code == "scan_not_allowed"


def test_handover_needs_a_unit_that_may_take_waste(plant, make_org):
    [container] = record(plant)
    shop = make_org(roles=("generator",))
    with pytest.raises(RuleViolation, match="transporter, collector or receiver"):
        services.scan(scope=plant["scope"], code=container.code, kind="handed_over", to_organization_id=shop.pk)


def test_self_utilization_by_the_generator(plant, make_site):
    [container] = record(plant)
    kiln = make_site(plant["org"], kind=Site.Kind.SELF_UTILIZATION)
    event = services.scan(scope=plant["scope"], code=container.code, kind="self_utilized", method_code="r2",
                          site_id=kiln.pk)
    assert event.method == "R2" and event.site == kiln
    assert Container.objects.get(pk=container.pk).status == ContainerStatus.SELF_UTILIZED


def test_stale_version_is_a_conflict(plant):
    [container] = record(plant)
    services.scan(scope=plant["scope"], code=container.code, kind="moved", storage_location="C-3",
                  version=container.version)
    from wufei.core.errors import Conflict

    with pytest.raises(Conflict):
        services.scan(scope=plant["scope"], code=container.code, kind="moved", version=container.version)


def test_invisible_containers_are_not_found(plant, make_org, member_of):
    [container] = record(plant)
    stranger = scope_for(member_of(make_org(region=KAIZHOU)))
    for call in (lambda: services.get_container(stranger, container.code),
                 lambda: services.scan(scope=stranger, code=container.code, kind="loaded"),
                 lambda: services.trace(stranger, container.code)):
        with pytest.raises(NotFound):
            call()


def test_next_scans_come_from_the_table(plant, member_of):
    [container] = record(plant)
    assert services.allowed_scans(plant["scope"], container) == [
        k for k in life.next_scans("stored") if k not in ("merged", "split")]
    assert services.allowed_scans(scope_for(member_of(plant["org"], "reader")), container) == []


# --- re-weigh -------------------------------------------------------------------------------------

@pytest.mark.parametrize("new, flagged", [("1.020", False), ("0.980", False), ("1.021", True), ("0.979", True)])
def test_reweigh_flags_beyond_the_tolerance(plant, new, flagged):
    [container] = record(plant, weight="1")
    event = services.reweigh(scope=plant["scope"], code=container.code, weight_tonnes=new)
    assert event.kind == ScanKind.REWEIGHED and event.expected_weight_tonnes == Decimal("1")
    assert event.discrepancy is flagged
    assert Container.objects.get(pk=container.pk).net_weight_tonnes == Decimal(new)


def test_reweigh_tolerance_is_the_holder_regions_parameter(plant):
    Parameter.objects.create(key="tracking.reweigh_tolerance_percent", region_code=BANAN, value="5")
    Parameter.objects.create(key="tracking.reweigh_tolerance_percent", region_code=KAIZHOU, value="0.1")
    [container] = record(plant, weight="1")
    assert not services.reweigh(scope=plant["scope"], code=container.code, weight_tonnes="1.04").discrepancy
    assert services.reweigh(scope=plant["scope"], code=container.code, weight_tonnes="1.1").discrepancy


def test_reweigh_is_refused_once_the_container_is_gone(plant, chain):
    [container] = record(plant)
    services.scan(scope=plant["scope"], code=container.code, kind="self_disposed", method_code="D10")
    with pytest.raises(RuleViolation):
        services.reweigh(scope=plant["scope"], code=container.code, weight_tonnes="1")


# --- merge and split ------------------------------------------------------------------------------

def test_merge_sums_weights_and_keeps_lineage(plant):
    old = timezone.now() - dt.timedelta(days=40)
    first = record(plant, weight="0.2", produced_at=old)[0]
    rest = record(plant, weight="0.35", count=2)
    merged = services.merge(scope=plant["scope"], codes=[first.code] + [c.code for c in rest], packaging="ibc")
    assert merged.net_weight_tonnes == Decimal("0.9")
    assert merged.origin == ContainerOrigin.MERGED and merged.status == ContainerStatus.STORED
    assert merged.storage_site == plant["store"]
    assert merged.stored_at == old and merged.produced_at == old  # the clock is not restarted
    for container in [first, *rest]:
        container.refresh_from_db()
        assert container.status == ContainerStatus.MERGED and container.parent == merged
        event = container.events.get(kind="merged")
        assert event.related_container == merged and event.weight_tonnes == container.net_weight_tonnes
    result = services.trace(plant["scope"], merged.code)
    assert {s["code"] for s in result["sources"]} == {first.code, *(c.code for c in rest)}
    assert {s["relation"] for s in result["sources"]} == {"merged_from"}
    up = services.trace(plant["scope"], first.code)
    assert [(s["code"], s["relation"]) for s in up["successors"]] == [(merged.code, "merged_into")]
    assert audit.verify_chain().ok


def test_merge_refuses_mixing(plant):
    solvent = record(plant)[0]
    oil = record(plant, waste=OIL, waste_name="废机油")[0]
    before = state(solvent), state(oil)
    with pytest.raises(RuleViolation, match="GB 18597") as caught:
        services.merge(scope=plant["scope"], codes=[solvent.code, oil.code], packaging="ibc")
    assert caught.value.code == "merge_mixed"
    other_hazard = record(plant, hazards="T")[0]
    with pytest.raises(RuleViolation, match="hazards"):
        services.merge(scope=plant["scope"], codes=[solvent.code, other_hazard.code], packaging="ibc")
    assert (state(solvent), state(oil)) == before
    assert Container.objects.count() == 3


def test_split_weights_must_add_up_exactly(plant):
    [parent] = record(plant, weight="1.000")
    before = state(parent)
    with pytest.raises(RuleViolation, match="add up to 0.999999"):
        services.split(scope=plant["scope"], code=parent.code, weights=["0.5", "0.499999"])
    with pytest.raises(ValidationFailed):
        services.split(scope=plant["scope"], code=parent.code, weights=["1"])
    assert state(parent) == before
    children = services.split(scope=plant["scope"], code=parent.code, weights=["0.6", "0.4"], packaging="drum")
    assert [c.net_weight_tonnes for c in children] == [Decimal("0.6"), Decimal("0.4")]
    assert all(c.origin == ContainerOrigin.SPLIT and c.split_from == parent for c in children)
    assert Container.objects.get(pk=parent.pk).status == ContainerStatus.SPLIT
    down = services.trace(plant["scope"], parent.code)
    assert [(s["code"], s["relation"]) for s in down["successors"]] == [(c.code, "split_into") for c in children]
    up = services.trace(plant["scope"], children[0].code)
    assert [(s["code"], s["relation"]) for s in up["sources"]] == [(parent.code, "split_from")]


def test_lineage_is_followed_recursively(plant):
    a, b = record(plant, weight="0.5", count=2)
    merged = services.merge(scope=plant["scope"], codes=[a.code, b.code], packaging="ibc")
    children = services.split(scope=plant["scope"], code=merged.code, weights=["0.3", "0.7"])
    result = services.trace(plant["scope"], a.code)
    [into] = result["successors"]
    assert into["code"] == merged.code
    assert {s["code"] for s in into["successors"]} == {c.code for c in children}
    result = services.trace(plant["scope"], children[0].code)
    [source] = result["sources"]
    assert source["code"] == merged.code and {s["code"] for s in source["sources"]} == {a.code, b.code}



def test_a_trace_reads_its_lineage_with_one_query_per_level(plant, django_assert_num_queries):
    a, b, c = record(plant, weight="0.5", count=3)
    first = services.merge(scope=plant["scope"], codes=[a.code, b.code], packaging="ibc")
    second = services.merge(scope=plant["scope"], codes=[first.code, c.code], packaging="ibc")
    children = services.split(scope=plant["scope"], code=second.code, weights=["0.4", "1.1"])
    # the container, its events, then a → first → second → the two children → nothing further: 4 levels
    with django_assert_num_queries(6):
        result = services.trace(plant["scope"], a.code)
    [into_first] = result["successors"]
    [into_second] = into_first["successors"]
    assert (into_first["code"], into_first["relation"]) == (first.code, "merged_into")
    assert (into_second["code"], into_second["relation"]) == (second.code, "merged_into")
    assert [(s["code"], s["relation"]) for s in into_second["successors"]] == [
        (children[0].code, "split_into"), (children[1].code, "split_into")]
    # a container without lineage: the container, its events and one level that finds nothing
    [lone] = record(plant, weight="0.2", count=1)
    with django_assert_num_queries(3):
        result = services.trace(plant["scope"], lone.code)
    assert result["sources"] == [] and result["successors"] == []


# --- storage ----------------------------------------------------------------------------------

@pytest.mark.parametrize("waste, age, expected", [
    (SOLVENT, dt.timedelta(days=300), "ok"),
    (SOLVENT, dt.timedelta(days=340), "near_limit"),
    (SOLVENT, dt.timedelta(days=366), "over_limit"),
    (MEDICAL, dt.timedelta(hours=35), "ok"),  # storage.medical_warning_hours: 12 h before the 48 h limit
    (MEDICAL, dt.timedelta(hours=37), "near_limit"),
    (MEDICAL, dt.timedelta(hours=49), "over_limit"),
])
def test_storage_state_on_each_side_of_the_limits(plant, waste, age, expected):
    now = timezone.now()
    [container] = record(plant, waste=waste, produced_at=now - age)
    container = services.get_container(plant["scope"], container.code)
    assert services.storage_state(container, now) == expected
    assert services.storage_age(container, now) == age


def test_storage_limits_follow_the_region(plant):
    Parameter.objects.create(key="storage.max_days", region_code=BANAN, value=90)
    now = timezone.now()
    [container] = record(plant, produced_at=now - dt.timedelta(days=100))
    assert services.storage_state(services.get_container(plant["scope"], container.code), now) == "over_limit"


def test_containers_out_of_stock_have_no_storage_state(plant):
    [container] = record(plant, produced_at=timezone.now() - dt.timedelta(days=400))
    services.scan(scope=plant["scope"], code=container.code, kind="self_disposed", method_code="D10")
    assert services.storage_state(services.get_container(plant["scope"], container.code)) == ""


def test_inventory_per_facility_and_code(plant, make_site, regulator_of):
    now = timezone.now()
    second_store = make_site(plant["org"], kind=Site.Kind.STORAGE, name="二号库")
    record(plant, weight="0.2", count=3, produced_at=now - dt.timedelta(days=10))
    record(plant, weight="0.5", produced_at=now - dt.timedelta(days=350))
    record(plant, waste=OIL, weight="1.25", count=2, storage_site_id=second_store.pk)
    record(plant, weight=None, steps=("produced",), storage_site_id=None)
    gone = record(plant, weight="9")[0]
    services.scan(scope=plant["scope"], code=gone.code, kind="self_disposed", method_code="D10")
    result = services.inventory(plant["scope"], now=now)
    rows = {(r["storage_site_id"], r["waste_code"]): r for r in result["rows"]}
    solvent = rows[(plant["store"].pk, SOLVENT)]
    assert (solvent["count"], solvent["tonnes"], solvent["state"]) == (4, Decimal("1.1"), "near_limit")
    assert solvent["oldest_age_days"] == Decimal("350.00")
    oil = rows[(second_store.pk, OIL)]
    assert (oil["count"], oil["tonnes"], oil["state"]) == (2, Decimal("2.5"), "ok")
    unplaced = rows[(None, SOLVENT)]
    assert (unplaced["count"], unplaced["unweighed"], unplaced["tonnes"]) == (1, 1, Decimal(0))
    assert result["totals"]["count"] == 7 and result["totals"]["tonnes"] == Decimal("3.6")
    assert result["totals"]["near_limit"] == 1
    regulator = services.inventory(scope_for(regulator_of(BANAN)), now=now)
    assert regulator["totals"] == result["totals"]
    assert services.inventory(scope_for(regulator_of(KAIZHOU)), now=now)["rows"] == []
    only_oil = services.inventory(plant["scope"], site_id=second_store.pk, now=now)
    assert [r["waste_code"] for r in only_oil["rows"]] == [OIL]
