"""The demo district's builders, in order, and its reset: what `wufei demo` runs.

Each domain with demo data has a module `wufei/demo/<domain>.py` offering

    build(stdout) -> dict | None   register its rows through its services, inside
                                   `audit.acting_as(DEMO_ACTOR)` (wufei.demo.registry.DEMO_ACTOR,
                                   "demo"); write progress to stdout (may be None)
    is_built() -> bool             whether its rows are already there

listed in BUILDERS in the order they depend on each other (the registry first; tracking,
manifests, ledgers … later). A builder that is already built is skipped, so running the command
twice adds nothing, and a domain added later is built on top of an existing demo.

`--reset` first deletes what the demo created. The audit chain knows those rows: every row whose
"created" event carries the actor label "demo" and that no event has deleted since. They are
deleted newest first (children before parents), each deletion being an audit event itself, so
the chain stays whole; then the demo accounts (marked by their e-mail domain) go. Rows that
other users created are kept, except those that cascade with a demo row (a site someone added
to a demo unit); if one of them protects a demo row, the reset stops and nothing changes.
The shipped reference data (waste list, methods, regions) is never touched; the demo's zones,
being rows the demo created, go with the rest.
"""

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model

from wufei.core import audit
from wufei.core.models import AuditEvent
from wufei.demo.registry import DEMO_ACTOR, DEMO_EMAIL_DOMAIN

BUILDERS = ["wufei.demo.registry", "wufei.demo.tracking", "wufei.demo.manifests", "wufei.demo.ledgers",
            "wufei.demo.programme", "wufei.demo.indicators", "wufei.demo.alerts", "wufei.demo.cases"]


def reset_demo() -> int:
    """Delete the rows the demo created (see the module docstring); return how many, accounts included.

    Rows go newest first, as `AuditedModel.delete()` would take them one by one (a "deleted" event,
    then the row), but each run of consecutive rows of one model is deleted in one statement.
    """
    created = list(AuditEvent.objects.filter(actor_label=DEMO_ACTOR, action="created")
                   .order_by("-id").values_list("entity_type", "entity_id"))
    types = {entity_type for entity_type, _ in created}
    gone = set(AuditEvent.objects.filter(action="deleted", entity_type__in=types)
               .values_list("entity_type", "entity_id"))
    alive = [(t, i) for t, i in created if (t, i) not in gone]
    demo_organizations = [int(i) for t, i in alive if t == "registry.organization"]
    with audit.acting_as(DEMO_ACTOR):
        for path in reversed(BUILDERS):  # later domains first: their rows hang on the registry's
            module = importlib.import_module(path)
            if hasattr(module, "reset"):
                module.reset(demo_organizations)
    alive = [(t, i) for t, i in alive if t.split(".")[0] not in ("tracking", "ledgers")]  # swept by the hooks
    rows = {}
    for entity_type in {t for t, _ in alive}:
        model = apps.get_model(entity_type)
        ids = [model._meta.pk.to_python(i) for t, i in alive if t == entity_type]
        for pk, row in model._default_manager.in_bulk(ids).items():
            rows[(entity_type, str(pk))] = row
    runs: list[list] = []  # consecutive rows of one model, newest first
    for key in alive:
        row = rows.get(key)
        if row is None:
            continue
        if runs and type(runs[-1][0]) is type(row):
            runs[-1].append(row)
        else:
            runs.append([row])
    with audit.acting_as(DEMO_ACTOR):
        for run in runs:
            for row in run:
                audit.record(entity=row, action="deleted", payload={"values": audit.snapshot(row)})
            type(run[0])._default_manager.filter(pk__in=[row.pk for row in run]).delete()
        users = list(get_user_model().objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN))
        for user in users:  # accounts are audited by signals on save only: record their deletion here
            audit.record(entity=user, action="account_deleted", payload={"username": user.get_username()})
        get_user_model().objects.filter(pk__in=[user.pk for user in users]).delete()
    return sum(len(run) for run in runs) + len(users)
