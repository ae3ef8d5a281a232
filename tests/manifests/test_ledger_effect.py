"""A manifest's tonnes land in the ledgers of the generator and the receiver, never in the carriers'."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.manifests.conftest import SOLVENT, draft, run
from wufei.core.scope import Scope
from wufei.ledgers.balance import mass_balance
from wufei.ledgers.compute import build_ledger
from wufei.ledgers.containers import container_ledger
from wufei.ledgers.models import LedgerMonth

pytestmark = pytest.mark.django_db
ADMIN = Scope(is_platform_admin=True, username="test")


def _year_totals(organization, field):
    year = timezone.localdate().year
    return sum(LedgerMonth.objects.filter(organization=organization, year=year).values_list(field, flat=True),
               Decimal(0))


def test_two_carriers_pass_the_load_on_without_touching_their_ledgers(chain):
    containers = chain.record(count=2, tonnes="0.75")
    legs = [{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk},
            {"transporter_id": chain.second_carrier.pk, "vehicle_id": chain.second_vehicle.pk}]
    manifest = draft(chain, containers, legs=legs)
    for step, who in (("submit", "generator_admin"), ("pickup", "driver"), ("handover", "second_admin"),
                      ("receive", "receiver_admin")):
        run(chain, manifest, step, who)
    run(chain, manifest, "process", "receiver_admin", method="D10")
    build_ledger(year=timezone.localdate().year)

    assert _year_totals(chain.generator, "generated") == Decimal("1.5")
    assert _year_totals(chain.generator, "transferred_out") == Decimal("1.5")
    assert _year_totals(chain.receiver, "received_in") == Decimal("1.5")
    assert _year_totals(chain.receiver, "disposed") == Decimal("1.5")  # received waste, as an operator
    assert _year_totals(chain.receiver, "self_disposed") == 0
    for carrier in (chain.transporter, chain.second_carrier):
        assert _year_totals(carrier, "transferred_out") == 0
        assert not LedgerMonth.objects.filter(organization=carrier, closing_stock__lt=0).exists()
    balance = mass_balance(ADMIN, chain.generator.pk, timezone.localdate().year)
    assert balance["balanced"], balance
    for carrier in (chain.transporter, chain.second_carrier):
        assert mass_balance(ADMIN, carrier.pk, timezone.localdate().year)["balanced"]
    entrusted = container_ledger(ADMIN, chain.generator.pk, timezone.localdate().year)["tables"]["entrusted"]
    assert {line["manifest"] for line in entrusted} == {manifest.number}
    assert all(line["receiver"] == chain.receiver.name for line in entrusted)
    assert SOLVENT in {line.get("waste_code", SOLVENT) for line in entrusted}


def test_a_refused_load_returned_balances_the_generator(chain):
    containers = chain.record(count=2, tonnes="0.5")
    manifest = draft(chain, containers)
    for step, who in (("submit", "generator_admin"), ("pickup", "driver")):
        run(chain, manifest, step, who)
    run(chain, manifest, "receive", "receiver_admin", refused_containers=[containers[0].code],
        refusal_reason="标签不符")
    from wufei.manifests import services

    back = services.create_follow_up(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                     purpose="return")
    for step, who in (("submit", "generator_admin"), ("pickup", "driver"), ("receive", "generator_admin")):
        run(chain, back, step, who)
    build_ledger(year=timezone.localdate().year)
    assert _year_totals(chain.generator, "transferred_out") == Decimal("1.0")
    assert _year_totals(chain.generator, "received_in") == Decimal("0.5")
    assert _year_totals(chain.transporter, "transferred_out") == 0
    assert mass_balance(ADMIN, chain.generator.pk, timezone.localdate().year)["balanced"]
