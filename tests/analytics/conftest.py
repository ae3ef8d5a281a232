"""A small region with known tonnes for the cockpit tests, built on the manifests' `chain`:
a Banan generator (3 × 0.5 t of HW06 solvent processed by D10 at a Kaizhou receiver, 1 × 0.8 t of HW08 oil
still in transit, 1 × 0.2 t of medical waste in stock), a Kaizhou generator with 2.0 t of HW08 in stock and
two months of Banan general industrial solid waste e-ledger."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import BANAN, CHONGQING, KAIZHOU
from tests.manifests.conftest import MEDICAL, OIL, draft, run
from tests.manifests.conftest import chain as chain  # noqa: F401  (the fixture, for this package)
from wufei.ledgers.models import SolidWasteMonth
from wufei.registry.models import Site


def process(transfer_chain, containers, *, method="D10", planned="D10", received=None):
    manifest = draft(transfer_chain, containers, planned_method=planned)
    run(transfer_chain, manifest, "submit", "generator_admin")
    run(transfer_chain, manifest, "pickup", "driver")
    total = sum((c.net_weight_tonnes for c in containers), Decimal(0))
    run(transfer_chain, manifest, "receive", "receiver_admin", received_tonnes=str(received or total))
    run(transfer_chain, manifest, "process", "receiver_admin", method=method)
    manifest.refresh_from_db()
    return manifest


@pytest.fixture
def region(chain, make_org, member_of, make_site, regulator_of, department_user):  # noqa: F811
    year = timezone.localdate().year
    solvent = chain.record(count=3, tonnes="0.5")
    processed = process(chain, solvent)
    oil = chain.record(waste_code=OIL, waste_name="废矿物油", tonnes="0.8")
    moving = draft(chain, oil, planned_method="R9")
    run(chain, moving, "submit", "generator_admin")
    run(chain, moving, "pickup", "driver")
    moving.refresh_from_db()
    medical = chain.record(waste_code=MEDICAL, waste_name="感染性废物", physical_form="solid", packaging="box",
                           tonnes="0.2")
    kaizhou_generator = make_org("开州机械厂", region=KAIZHOU, roles=("generator",))
    kaizhou_admin = member_of(kaizhou_generator, "admin")
    kaizhou_store = make_site(kaizhou_generator, kind=Site.Kind.STORAGE)
    chain.record(organization=kaizhou_generator, store=kaizhou_store, admin=kaizhou_admin, waste_code=OIL,
                 waste_name="废矿物油", tonnes="2.0")
    common = {"organization": chain.generator, "code": "SW01", "name": "冶炼废渣", "year": year}
    SolidWasteMonth.objects.create(**common, month=1, opening_stock=0, generated=10, self_utilized=4,
                                   entrusted_utilization=2, self_disposed=1, entrusted_disposal=1, closing_stock=2)
    SolidWasteMonth.objects.create(**common, month=2, opening_stock=2, generated=5, self_utilized=3,
                                   closing_stock=4)
    chain.update(year=year, processed=processed, moving=moving, medical=medical, kaizhou_generator=kaizhou_generator,
                 kaizhou_admin=kaizhou_admin, banan_regulator=regulator_of(BANAN),
                 kaizhou_regulator=regulator_of(KAIZHOU), city_regulator=regulator_of(CHONGQING),
                 department=department_user(BANAN))
    return chain
