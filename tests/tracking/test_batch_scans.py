"""scan_for_holders: the scans a signature authorizes, recorded in one batch with the rules of a single scan."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from tests.tracking import make_plant, record
from wufei.core import audit
from wufei.core.errors import RuleViolation
from wufei.core.models import AuditEvent
from wufei.tracking import services
from wufei.tracking.models import Container, ScanEvent, ScanKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def plant(make_org, make_site, member_of):
    return make_plant(make_org, make_site, member_of)


def test_loaded_and_handed_over_in_one_batch(plant, make_org):
    carrier = make_org("渝运危货运输公司", roles=("transporter",))
    first, second = record(plant, count=2)
    before = {c.pk: c.version for c in Container.objects.filter(pk__in=[first.pk, second.pk])}
    last_link = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    moment = timezone.now() - dt.timedelta(minutes=5)
    scans = [services.Scan(pk, kind, moment, to_organization_id=carrier.pk if kind == ScanKind.HANDED_OVER else None,
                           reference="20250001000001")
             for pk in (first.pk, second.pk) for kind in (ScanKind.LOADED, ScanKind.HANDED_OVER)]
    with transaction.atomic():
        events = services.scan_for_holders(scope=plant["scope"], scans=scans)
    assert [(e.container_id, e.kind) for e in events] == [(s.container_id, s.kind) for s in scans]
    for container in Container.objects.filter(pk__in=[first.pk, second.pk]):
        assert (container.status, container.holder_id) == ("handed_over", carrier.pk)
        assert container.version == before[container.pk] + 2  # one version per scan, as two single scans give
        assert container.storage_site_id is None and container.stored_at is None
    handed = ScanEvent.objects.get(container_id=first.pk, kind=ScanKind.HANDED_OVER)
    assert (handed.organization_id, handed.to_organization_id, handed.reference) == (
        plant["org"].pk, carrier.pk, "20250001000001")
    links = list(AuditEvent.objects.filter(id__gt=last_link).order_by("id"))
    assert [(link.entity_id, link.action) for link in links] == [(str(s.container_id), s.kind) for s in scans]
    assert links[1].payload["changes"]["holder_id"] == [plant["org"].pk, carrier.pk]
    assert links[1].payload["events"][0]["id"] == handed.pk
    assert audit.verify_chain().ok


def test_a_broken_rule_refuses_the_batch_and_writes_nothing(plant):
    first, second = record(plant, count=2)
    events = ScanEvent.objects.count()
    links = AuditEvent.objects.count()
    moment = timezone.now() - dt.timedelta(minutes=5)
    scans = [services.Scan(first.pk, ScanKind.LOADED, moment),
             services.Scan(second.pk, ScanKind.RECEIVED, moment)]  # a stored container is not received
    with pytest.raises(RuleViolation) as caught, transaction.atomic():
        services.scan_for_holders(scope=plant["scope"], scans=scans)
    assert caught.value.code == "scan_not_allowed"
    assert ScanEvent.objects.count() == events and AuditEvent.objects.count() == links
    assert set(Container.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"stored"}


def test_a_scan_before_the_last_event_is_refused(plant):
    [container] = record(plant, produced_at=timezone.now() - dt.timedelta(hours=1))
    with pytest.raises(Exception) as caught, transaction.atomic():
        services.scan_for_holders(scope=plant["scope"], scans=[
            services.Scan(container.pk, ScanKind.LOADED, timezone.now() - dt.timedelta(hours=2))])
    assert caught.value.code == "validation_failed"
    assert Container.objects.get(pk=container.pk).status == "stored"
