"""A transfer chain for the manifest tests: a generator with containers in storage, a carrier with a vehicle and
a driver, a licensed receiver, and the people who sign for each."""

from decimal import Decimal

import pytest

from tests.conftest import BANAN, KAIZHOU
from wufei.core.scope import scope_for
from wufei.registry.models import Site
from wufei.tracking import services as tracking

SOLVENT = "900-402-06"  # 废有机溶剂
OIL = "900-214-08"  # 废矿物油
MEDICAL = "841-001-01"  # 感染性废物


class Chain(dict):
    __getattr__ = dict.__getitem__

    def record(self, count=1, waste_code=SOLVENT, tonnes="0.5", organization=None, store=None, admin=None, **extra):
        organization = organization or self.generator
        values = {"waste_code": waste_code, "waste_name": extra.pop("waste_name", "废有机溶剂"),
                  "physical_form": "liquid", "packaging": "drum", "net_weight_tonnes": tonnes,
                  "storage_site_id": (store or self.store).pk, "count": count}
        values.update(extra)
        return tracking.record_batch(scope=scope_for(admin or self.generator_admin), organization_id=organization.pk,
                                     **values)


@pytest.fixture
def chain(make_org, member_of, make_site, make_vehicle, make_permit):
    generator = make_org("巴南精细化工有限公司", region=BANAN, roles=("generator",))
    transporter = make_org("重庆危运物流有限公司", region=BANAN, roles=("transporter",))
    second_carrier = make_org("开州联运有限公司", region=KAIZHOU, roles=("transporter",))
    receiver = make_org("重庆环保处置中心", region=KAIZHOU, roles=("receiver",))
    make_permit(receiver, lines=(("HW06", "100", ("D10", "R2")), ("HW08", "50", ("R9", "D10"))))
    chain = Chain(
        generator=generator, transporter=transporter, second_carrier=second_carrier, receiver=receiver,
        generator_admin=member_of(generator, "admin"), transporter_admin=member_of(transporter, "admin"),
        driver=member_of(transporter, "driver"), second_admin=member_of(second_carrier, "admin"),
        receiver_admin=member_of(receiver, "admin"),
        store=make_site(generator, kind=Site.Kind.STORAGE, name="甲类危废贮存库"),
        receiver_store=make_site(receiver, kind=Site.Kind.STORAGE, name="接收库"),
        vehicle=make_vehicle(transporter, plate="渝A12345"),
        second_vehicle=make_vehicle(second_carrier, plate="渝F54321"),
    )
    chain["scopes"] = {key: scope_for(chain[key]) for key in
                       ("generator_admin", "transporter_admin", "driver", "second_admin", "receiver_admin")}
    return chain


def draft(chain, containers, *, legs=None, **extra):
    from wufei.manifests import services

    legs = legs if legs is not None else [{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk,
                                           "driver_name": "张师傅"}]
    values = {"kind": "hazardous", "generator_id": chain.generator.pk, "receiver_id": chain.receiver.pk,
              "legs": legs, "container_codes": [c.code for c in containers], "planned_method": "D10"}
    values.update(extra)
    return services.create_manifest(scope=chain.scopes["generator_admin"], **values)


def run(chain, manifest, step, who, **data):
    from wufei.manifests import services

    manifest.refresh_from_db()
    return services.sign(scope=chain.scopes[who], manifest_id=manifest.pk, step=step, version=manifest.version,
                         data=data)


TONNES = Decimal
