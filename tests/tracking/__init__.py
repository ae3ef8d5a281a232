"""Shared helpers for the container tests (imported by the test modules; tests/conftest.py has the basics)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from tests.conftest import BANAN
from wufei.core.scope import scope_for
from wufei.registry.models import Site
from wufei.tracking import services

SOLVENT = "900-402-06"  # 废有机溶剂, T,I
OIL = "900-214-08"  # 废矿物油
MEDICAL = "841-001-01"  # 感染性废物
NOON = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


def make_plant(make_org, make_site, member_of):
    """A generator in Banan with a production site, a storage facility and an administrator.

    Test modules wrap it in a `plant` fixture (fixtures are not shared from this package).
    """
    organization = make_org("巴南精细化工有限公司", region=BANAN, roles=("generator",))
    admin = member_of(organization, "admin")
    return {
        "org": organization,
        "admin": admin,
        "scope": scope_for(admin),
        "workshop": make_site(organization, kind=Site.Kind.PRODUCTION, name="一车间"),
        "store": make_site(organization, kind=Site.Kind.STORAGE, name="危废贮存库"),
    }


def record(plant, *, count=1, weight="0.2", waste=SOLVENT, produced_at=None, **fields):
    """Record containers through the service with sensible defaults (all five steps)."""
    values = {
        "waste_code": waste, "waste_name": fields.pop("waste_name", "废清洗溶剂"), "physical_form": "liquid",
        "packaging": "drum", "net_weight_tonnes": Decimal(weight) if weight is not None else None,
        "site_id": plant["workshop"].pk, "storage_site_id": plant["store"].pk, "storage_location": "A-01",
        "produced_at": produced_at or timezone.now() - dt.timedelta(hours=1), "count": count,
    }
    values.update(fields)
    return services.record_batch(scope=plant["scope"], organization_id=plant["org"].pk, **values)
