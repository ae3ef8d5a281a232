"""What the receiver weighed and signed is what it received (issue: 地磅称重 2.16 t, 接收量 2.2 t).

Two drums of 1.2 t and 1.0 t (2.2 t shipped) are weighed at 2.16 t on the receiver's weighbridge. The 2.16 t is
shared by shipped weight: 1.2 × 2.16 / 2.2 = 1.178181818… → 1.178181 t and 1.0 × 2.16 / 2.2 = 0.981818181… →
0.981818 t, which leave 0.000001 t; the remainder goes to the heavier drum (1.178182 t). The manifest and its line
show 2.16 t received and accepted, the discrepancy is |2.16 − 2.2| / 2.2 = 1.818 %, the receiver's ledger receives
2.16 t and the generator's transfers 2.2 t, and both mass balances close.
"""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.manifests.conftest import draft, run

pytestmark = pytest.mark.django_db
T = Decimal


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_weighbridge_figure_is_what_was_received(chain, client_for):
    heavy = chain.record(tonnes="1.2")[0]
    light = chain.record(tonnes="1.0")[0]
    manifest = draft(chain, [heavy, light])
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    receiver = client_for(chain.receiver_admin)
    answer = _post(receiver, f"/api/v1/manifests/{manifest.pk}/sign", {
        "step": "receive", "version": manifest.version, "data": {"received_tonnes": "2.16"}})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (T(body["received_tonnes"]), T(body["accepted_tonnes"]), T(body["refused_tonnes"])) == (
        T("2.16"), T("2.16"), 0)
    assert T(body["discrepancy_percent"]) == T("1.818") and body["discrepancy"] is False  # 5 % tolerance
    [line] = body["lines"]
    assert T(line["received_tonnes"]) == T(line["accepted_tonnes"]) == T("2.16")
    entries = {e.container.code: e.received_tonnes for e in manifest.carried.select_related("container")}
    assert entries == {heavy.code: T("1.178182"), light.code: T("0.981818")}

    year = timezone.localdate().year
    generator = client_for(chain.generator_admin)
    for client, org in ((receiver, chain.receiver), (generator, chain.generator)):
        assert _post(client, f"/api/v1/ledgers/{org.pk}/{year}/rebuild", {}).status_code == 200
    received = receiver.get(f"/api/v1/ledgers/{chain.receiver.pk}/{year}").json()["year_summary"]
    shipped = generator.get(f"/api/v1/ledgers/{chain.generator.pk}/{year}").json()["year_summary"]
    assert T(_total(received, "received_in")) == T("2.16")
    assert T(_total(shipped, "transferred_out")) == T("2.2")
    for client, org in ((receiver, chain.receiver), (generator, chain.generator)):
        balance = client.get(f"/api/v1/ledgers/{org.pk}/{year}/mass-balance").json()
        assert balance["balanced"], balance


def test_per_container_weights_and_a_total_must_agree(chain, client_for):
    a, b = chain.record(tonnes="1.0")[0], chain.record(tonnes="1.0")[0]
    manifest = draft(chain, [a, b])
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    manifest.refresh_from_db()
    receiver = client_for(chain.receiver_admin)
    refused = _post(receiver, f"/api/v1/manifests/{manifest.pk}/sign", {
        "step": "receive", "version": manifest.version,
        "data": {"received_tonnes": "1.5", "container_weights": {a.code: "0.9", b.code: "0.9"}}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "received_tonnes"
    version = manifest.version
    manifest.refresh_from_db()
    assert manifest.status == "in_transit" and manifest.version == version  # nothing written
    partly = _post(receiver, f"/api/v1/manifests/{manifest.pk}/sign", {
        "step": "receive", "version": manifest.version,
        "data": {"received_tonnes": "1.95", "container_weights": {a.code: "0.99"}}})
    assert partly.status_code == 200, partly.content
    entries = {e.container.code: e.received_tonnes for e in manifest.carried.select_related("container")}
    assert entries == {a.code: T("0.99"), b.code: T("0.96")}  # the rest of the total: 1.95 − 0.99


def _total(summary, field):
    return sum((T(str(row[field])) for row in summary), T(0))
