from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from wufei.core import audit
from wufei.core.models import AuditChainHead, AuditEvent


@pytest.fixture
def three_changes(make_org):
    with audit.acting_as("test"):
        org = make_org(name="链测试单位")
        org.address = "巴南区某路1号"
        org.save()
        org.status = "closed"
        org.save(audit_action="closed")
    return org


def test_every_create_update_and_state_change_is_an_event(three_changes):
    events = list(audit.history(three_changes))
    assert [e.action for e in events] == ["created", "updated", "closed"]
    assert events[1].payload["changes"]["address"] == ["", "巴南区某路1号"]
    assert events[0].actor_label == "test"
    assert audit.verify_chain().ok


def test_chain_links_each_event_to_the_previous(three_changes):
    events = list(AuditEvent.objects.order_by("id"))
    assert events[0].prev_hash == audit.GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash


def test_an_altered_row_is_caught_and_named(three_changes):
    events = list(AuditEvent.objects.order_by("id"))
    tampered = events[1]
    AuditEvent.objects.filter(pk=tampered.pk).update(payload={"changes": {"address": ["", "别处"]}})
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_event_id == tampered.pk
    assert report.checked == 1


def test_a_deleted_row_breaks_the_next_link(three_changes):
    events = list(AuditEvent.objects.order_by("id"))
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    report = audit.verify_chain()
    assert not report.ok and report.broken_event_id == events[2].pk


def test_a_truncated_tail_is_caught(three_changes):
    last = AuditEvent.objects.order_by("-id").first()
    AuditEvent.objects.filter(pk=last.pk).delete()
    report = audit.verify_chain()
    assert not report.ok
    assert AuditChainHead.objects.get().length == report.checked + 1


def test_verify_command_reports_ok_and_first_broken_link(three_changes):
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "OK" in out.getvalue()
    first = AuditEvent.objects.order_by("id").first()
    AuditEvent.objects.filter(pk=first.pk).update(action="deleted")
    with pytest.raises(CommandError, match=f"#{first.pk}"):
        call_command("audit", "verify", stdout=StringIO())


def test_accounts_and_tokens_are_in_the_chain(make_user):
    from wufei.core.models import AuditEvent
    from wufei.core.tokens import issue_token, revoke_token

    user = make_user("frank")
    user.is_staff = True
    user.set_password("another-password-9")
    user.save()
    token, secret = issue_token(user=user, name="ci")
    revoke_token(user=user, token_id=token.pk)
    actions = list(AuditEvent.objects.filter(entity_type__in=["auth.user", "core.apitoken"]).values_list(
        "action", flat=True))
    assert actions == ["account_created", "account_updated", "token_issued", "token_revoked"]
    updated = AuditEvent.objects.get(action="account_updated").payload["changes"]
    assert updated == {"is_staff": [False, True], "password": "changed"}
    assert not any(secret in str(e.payload) or user.password in str(e.payload) for e in AuditEvent.objects.all())
    assert audit.verify_chain().ok


def test_plain_values_are_what_a_json_round_trip_gives():
    import datetime as dt
    import uuid
    from decimal import Decimal

    from wufei.tracking.models import ScanKind

    moment = dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    assert audit.plain(ScanKind.LOADED) == "loaded" and type(audit.plain(ScanKind.LOADED)) is str
    assert audit.plain(moment) == "2024-01-02T03:04:05.123Z"  # milliseconds, as DjangoJSONEncoder writes them
    assert audit.plain(dt.date(2024, 1, 2)) == "2024-01-02"
    assert audit.plain(dt.timedelta(days=1, seconds=5)) == "P1DT00H00M05S"
    assert audit.plain(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert audit.plain(Decimal("2.50")) == "2.50" and audit.plain(Decimal("3.000")) == "3"
    assert audit.plain({"a": Decimal("1.5"), "b": [moment]}) == {"a": "1.5", "b": ["2024-01-02T03:04:05.123Z"]}
    assert [audit.plain(v) for v in (None, True, 7, "x")] == [None, True, 7, "x"]
