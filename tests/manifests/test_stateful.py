"""Random actions by random actors never reach an illegal state and never create or lose a tonne.

A Hypothesis state machine drives the manifest services: drafts from containers in storage, every step signed by
any of the parties (or an outsider) with the current or a stale version, receipts with random refusals and
weighbridge figures, follow-ups for refused loads. After every action the invariants hold; an action the rules
refuse raises a 403 / 404 / 409 / 422 error and leaves the manifest, its lines, its containers and its signatures
exactly as they were.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.manifests.conftest import OIL, SOLVENT
from wufei.core.errors import WufeiError
from wufei.core.scope import scope_for
from wufei.manifests import machine, services
from wufei.manifests.models import Manifest, ManifestContainer, ManifestStatus, Signature
from wufei.tracking.models import Container, ContainerStatus

pytestmark = pytest.mark.django_db
S = ManifestStatus
ACTORS = ("generator_admin", "driver", "transporter_admin", "second_admin", "receiver_admin", "outsider")
STEPS = tuple(machine.STEPS)
ZERO = Decimal(0)
WEIGHTS = st.sampled_from(["0.1", "0.25", "0.5", "1.2", "2"])


def snapshot(manifest_id: int) -> dict:
    manifest = Manifest.objects.filter(pk=manifest_id).values().get()
    carried = list(ManifestContainer.objects.filter(manifest_id=manifest_id).order_by("pk").values())
    containers = list(Container.objects.filter(pk__in=[c["container_id"] for c in carried]).order_by("pk")
                      .values("pk", "status", "holder_id", "net_weight_tonnes", "version"))
    return {"manifest": manifest, "carried": carried, "containers": containers,
            "lines": list(Manifest.objects.get(pk=manifest_id).lines.order_by("pk").values()),
            "signatures": Signature.objects.filter(manifest_id=manifest_id).count()}


def build_machine(chain, outsider):
    class ManifestMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()  # every example runs in a savepoint that teardown rolls back
            self.scopes = {**chain.scopes, "outsider": scope_for(outsider)}
            self.manifests: list[int] = []
            self.recorded: dict[int, Decimal] = {}  # container → the weight it was recorded with

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @initialize(weights=st.lists(WEIGHTS, min_size=2, max_size=6), oil=st.booleans())
        def stock(self, weights, oil):
            for index, weight in enumerate(weights):
                code = OIL if oil and index % 2 else SOLVENT
                [container] = chain.record(tonnes=weight, waste_code=code,
                                           waste_name="废矿物油" if code == OIL else "废有机溶剂")
                self.recorded[container.pk] = Decimal(weight)

        @rule(data=st.data(), two_legs=st.booleans())
        def draft(self, data, two_legs):
            free = list(Container.objects.filter(pk__in=list(self.recorded), holder=chain.generator,
                                                 status__in=services.LOADABLE).values_list("code", flat=True))
            taken = set(ManifestContainer.objects.filter(manifest__status__in=services.RESERVING)
                        .values_list("container__code", flat=True))
            free = sorted(set(free) - taken)
            if not free:
                return
            codes = data.draw(st.lists(st.sampled_from(free), min_size=1, max_size=len(free), unique=True))
            legs = [{"transporter_id": chain.transporter.pk, "vehicle_id": chain.vehicle.pk}]
            if two_legs:
                legs.append({"transporter_id": chain.second_carrier.pk, "vehicle_id": chain.second_vehicle.pk})
            manifest = services.create_manifest(
                scope=chain.scopes["generator_admin"], kind="hazardous", generator_id=chain.generator.pk,
                receiver_id=chain.receiver.pk, legs=legs, container_codes=codes, planned_method="D10")
            self.manifests.append(manifest.pk)

        @rule(data=st.data(), lawful=st.integers(0, 5), stale=st.integers(0, 5))
        def sign(self, data, lawful, stale):
            """Mostly a step the status allows by its party (else nothing would move); sometimes anything."""
            if not self.manifests:
                return
            manifest_id = data.draw(st.sampled_from(self.manifests))
            before = snapshot(manifest_id)
            step, actor = self._lawful(manifest_id) if lawful else (None, None)
            if step is None:
                step, actor = data.draw(st.sampled_from(STEPS)), data.draw(st.sampled_from(ACTORS))
            stale = stale == 0
            version = before["manifest"]["version"] - (1 if stale else 0)
            payload = self._payload(data, step, before)
            try:
                services.sign(scope=self.scopes[actor], manifest_id=manifest_id, step=step, version=version,
                              data=payload)
            except WufeiError as error:
                assert error.status in (403, 404, 409, 422), error
                assert snapshot(manifest_id) == before, f"{step} by {actor} failed ({error.code}) but changed things"
                return
            after = Manifest.objects.get(pk=manifest_id)
            assert not stale, "a stale version signed"
            assert before["manifest"]["status"] in machine.STEPS[step].allowed_from
            assert after.version > before["manifest"]["version"]

        def _lawful(self, manifest_id):
            manifest = Manifest.objects.get(pk=manifest_id)
            actors = {chain.generator.pk: "generator_admin", chain.transporter.pk: "driver",
                      chain.second_carrier.pk: "second_admin", chain.receiver.pk: "receiver_admin"}
            for step in machine.next_steps(manifest.status):
                party = services.party_for_step(manifest, step, quiet=True)
                if step != "cancel" and party is not None:
                    return step, actors[party.pk]
            return None, None

        def _payload(self, data, step, before) -> dict:
            if step == "receive":
                codes = [c["container_id"] for c in before["carried"]]
                refused = data.draw(st.lists(st.sampled_from(codes), unique=True, max_size=3)) if codes else []
                refused_codes = list(Container.objects.filter(pk__in=refused).values_list("code", flat=True))
                payload = {"refused_containers": refused_codes}
                if refused_codes and data.draw(st.integers(0, 3)):
                    payload["refusal_reason"] = "与联单不符"
                if data.draw(st.booleans()):
                    payload["received_tonnes"] = data.draw(st.sampled_from(["0", "0.3", "1", "2.5", "9"]))
                return payload
            if step == "process":
                return {"method": data.draw(st.sampled_from(["D10", "R2", "D1", "", "R9"]))}
            if step == "cancel":
                return {"reason": data.draw(st.sampled_from(["", "改期"]))}
            return {}

        @rule(data=st.data(), onward=st.booleans())
        def follow_up(self, data, onward):
            stranded = [pk for pk in self.manifests
                        if services.stranded_containers(Manifest.objects.get(pk=pk))]
            if not stranded:
                return
            source = data.draw(st.sampled_from(stranded))
            manifest = services.create_follow_up(scope=chain.scopes["generator_admin"], manifest_id=source,
                                                 purpose="onward" if onward else "return",
                                                 receiver_id=chain.receiver.pk if onward else None)
            if onward:
                services.set_planned_methods(scope=chain.scopes["generator_admin"], manifest_id=manifest.pk,
                                             version=manifest.version,
                                             methods={line.position: "D10" for line in manifest.lines.all()})
            self.manifests.append(manifest.pk)

        @invariant()
        def no_tonne_created_or_lost(self):
            """Every container weighs what it was recorded with, or what the last receiver that accepted it weighed
            (the weighbridge figure shared among its accepted containers); every manifest's tonnes are its
            containers' tonnes: shipped, refused (shipped weight) and accepted (weighed)."""
            expected = dict(self.recorded)
            received = S.RECEIVED, S.PROCESSED
            for entry in (ManifestContainer.objects.filter(container_id__in=list(expected), refused=False,
                                                           manifest__status__in=received)
                          .order_by("manifest__received_at", "pk")):
                expected[entry.container_id] = entry.received_tonnes
            assert dict(Container.objects.filter(pk__in=list(expected)).values_list("pk", "net_weight_tonnes")) == \
                expected
            for manifest in Manifest.objects.filter(pk__in=self.manifests):
                carried = list(manifest.carried.all())
                assert manifest.shipped_tonnes == sum((c.shipped_tonnes for c in carried), ZERO)
                for line in manifest.lines.all():
                    assert line.shipped_tonnes == sum((c.shipped_tonnes for c in carried if c.line_id == line.pk),
                                                      ZERO)
                if manifest.status in (S.RECEIVED, S.REFUSED, S.PROCESSED):
                    accepted = [c for c in carried if not c.refused]
                    assert manifest.accepted_tonnes == sum((c.received_tonnes for c in accepted), ZERO)
                    assert manifest.refused_tonnes == sum((c.shipped_tonnes for c in carried if c.refused), ZERO)
                else:
                    assert manifest.accepted_tonnes == manifest.refused_tonnes == ZERO

        @invariant()
        def states_are_legal(self):
            for manifest in Manifest.objects.filter(pk__in=self.manifests):
                signed = list(manifest.signatures.values_list("step", flat=True))
                assert manifest.status in S.values
                assert (manifest.number is None) == ("submit" not in signed)
                expected = {S.DRAFT: set(), S.SUBMITTED: {"submit"}, S.IN_TRANSIT: {"submit", "pickup"},
                            S.RECEIVED: {"submit", "pickup", "receive"}, S.REFUSED: {"submit", "pickup", "receive"},
                            S.PROCESSED: {"submit", "pickup", "receive", "process"}}
                if manifest.status in expected:
                    assert set(signed) - {"handover"} == expected[manifest.status], (manifest.status, signed)
                assert len(signed) == len(set(signed) - {"handover"}) + signed.count("handover")
                self._containers_follow(manifest)

        def _containers_follow(self, manifest):
            for entry in manifest.carried.select_related("container"):
                container = entry.container
                if manifest.status in (S.DRAFT, S.SUBMITTED) and manifest.follows_id:  # still with the carrier
                    assert container.holder_id in (chain.transporter.pk, chain.second_carrier.pk)
                    assert container.status == ContainerStatus.HANDED_OVER
                elif manifest.status in (S.DRAFT, S.SUBMITTED):
                    assert container.holder_id == chain.generator.pk
                    assert container.status in services.LOADABLE
                elif manifest.status == S.IN_TRANSIT:
                    assert container.holder_id in (chain.transporter.pk, chain.second_carrier.pk)
                    assert container.status == ContainerStatus.HANDED_OVER
                elif manifest.status == S.RECEIVED and not entry.refused and manifest.purpose == "return":
                    assert (container.holder_id, container.status) in ((chain.generator.pk, ContainerStatus.RECEIVED),
                                                                       (chain.generator.pk, ContainerStatus.STORED))
                elif manifest.status in (S.RECEIVED, S.PROCESSED) and not entry.refused:
                    assert container.holder_id == chain.receiver.pk
                    done = (ContainerStatus.DISPOSED, ContainerStatus.UTILIZED)
                    assert container.status in (done if manifest.status == S.PROCESSED
                                                else (ContainerStatus.RECEIVED, *done))

        @invariant()
        def a_container_is_on_one_open_manifest_at_most(self):
            open_entries = ManifestContainer.objects.filter(manifest_id__in=self.manifests,
                                                            manifest__status__in=services.RESERVING)
            ids = list(open_entries.values_list("container_id", flat=True))
            assert len(ids) == len(set(ids))

    return ManifestMachine


def test_random_actions_keep_manifests_legal_and_tonnes_whole(chain, member_of, make_org):
    outsider = member_of(make_org("无关运输公司", roles=("transporter",)))
    machine_class = build_machine(chain, outsider)
    run_state_machine_as_test(machine_class, settings=settings(
        max_examples=15, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
