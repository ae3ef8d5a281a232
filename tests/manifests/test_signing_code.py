"""Gate signing codes: wrong entries lock out the person who typed them, on that manifest, not the code's owner.

A code is typed at a gate on another party's phone: the receiver's storekeeper on the driver's phone. Any party
of the manifest may collect it, so a party that guesses must not be able to lock the receiver out of its own
code (as one lock per organization allowed), and one guesser must not get unlimited tries over many manifests.
"""

import json

import pytest
from django.contrib.auth.hashers import make_password

from tests.conftest import KAIZHOU
from tests.manifests.conftest import draft, run
from wufei.core import parameters
from wufei.manifests.models import Manifest, SigningCode

pytestmark = pytest.mark.django_db
CODE = "482913"


def call(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def in_transit(chain):
    manifest = draft(chain, chain.record())
    run(chain, manifest, "submit", "generator_admin")
    run(chain, manifest, "pickup", "driver")
    return Manifest.objects.get(pk=manifest.pk)


def receive(client, manifest, code):
    return call(client, f"/api/v1/manifests/{manifest.pk}/sign",
                {"step": "receive", "version": manifest.version, "signing_code": code, "signer_name": "库管员"})


@pytest.fixture
def receiver_code(chain, client_for):
    response = call(client_for(chain.receiver_admin), f"/api/v1/organizations/{chain.receiver.pk}/signing-code",
                    {"code": CODE})
    assert response.status_code == 204, response.content
    return CODE


def test_a_guessing_party_is_locked_out_but_the_receivers_own_code_still_signs(chain, client_for, receiver_code):
    manifest = in_transit(chain)
    guesser = client_for(chain.generator_admin)  # a party of the manifest: it may collect the receiver's code
    tries = int(parameters.default("manifest.signing_code_max_failures"))
    for n in range(tries):
        wrong = receive(guesser, manifest, f"{100000 + n}")
        assert (wrong.status_code, wrong.json()["code"]) == (403, "signing_code_wrong")
    locked = receive(guesser, manifest, receiver_code)  # locked even with the right code now
    assert (locked.status_code, locked.json()["code"]) == (403, "signing_code_locked")

    at_the_gate = receive(client_for(chain.driver), manifest, receiver_code)  # the storekeeper on the driver's phone
    assert at_the_gate.status_code == 200, at_the_gate.content
    assert at_the_gate.json()["status"] == "received"


def test_one_guesser_gets_a_bounded_number_of_tries_over_many_manifests(chain, client_for, receiver_code):
    per_manifest = int(parameters.default("manifest.signing_code_max_failures"))
    per_day = int(parameters.default("manifest.signing_code_max_failures_per_day"))
    guesser = client_for(chain.generator_admin)
    manifests = [in_transit(chain) for _ in range(per_day // (per_manifest - 1) + 1)]
    typed = 0
    for manifest in manifests:
        for _ in range(per_manifest - 1):  # never enough on one manifest to be locked out of it
            if typed < per_day:
                assert receive(guesser, manifest, f"{200000 + typed}").json()["code"] == "signing_code_wrong"
                typed += 1
    locked = receive(guesser, manifests[-1], receiver_code)
    assert (locked.status_code, locked.json()["code"]) == (403, "signing_code_locked")
    assert receive(client_for(chain.driver), manifests[-1], receiver_code).status_code == 200


def test_codes_have_six_digits_and_a_shorter_code_set_earlier_must_be_renewed(chain, client_for):
    admin = client_for(chain.receiver_admin)
    url = f"/api/v1/organizations/{chain.receiver.pk}/signing-code"
    assert call(admin, url, {"code": "2468"}).status_code == 422
    assert call(admin, url, {"code": "123456"}).status_code == 422  # a run anyone would try first
    # a code set before codes had six digits: the migration marks it for renewal
    SigningCode.objects.create(organization=chain.receiver, digest=make_password("2468"), needs_renewal=True)
    manifest = in_transit(chain)
    refused = receive(client_for(chain.driver), manifest, "2468")
    assert (refused.status_code, refused.json()["code"]) == (422, "signing_code_too_short")
    assert chain.receiver.name in refused.json()["message"]
    page = admin.get("/manifests/signing-code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="renew-code"' in page
    workspace = admin.get("/workspace/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-todo="signing_code"' in workspace

    assert call(admin, url, {"code": CODE}).status_code == 204
    assert 'data-testid="renew-code"' not in admin.get("/manifests/signing-code/").content.decode()
    manifest.refresh_from_db()
    assert receive(client_for(chain.driver), manifest, CODE).status_code == 200


def test_only_a_party_of_the_manifest_gets_a_code_checked(chain, client_for, regulator_of, receiver_code):
    """A regulator sees the manifest but is no party: its guesses are refused before any code is compared."""
    manifest = in_transit(chain)
    regulator = client_for(regulator_of(KAIZHOU))
    for code in ("000000", receiver_code):
        refused = receive(regulator, manifest, code)
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert Manifest.objects.get(pk=manifest.pk).status == "in_transit"
