"""The demo district (`wufei demo`): one module per domain it builds, each registering its rows through the
public services of that domain (registry, tracking, manifests, ledgers, programme, indicators, alerts, cases).

The demo owns no tables: everything it creates lives in the domain apps' tables, made by their services, and is
found again through the audit chain (actor label "demo") when `wufei demo --reset` removes it.
"""
