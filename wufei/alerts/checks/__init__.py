"""The checks of the alert rules, by topic; the table that names them, their levels and parameters is
`wufei/alerts/rules.py`.

The package, by job:

* `common`: What the checks share: the Hit a check returns and small helpers. A check is set-based: one query
  per rule and region partition returns every entity that trips it, restricted to `ids` when the scan re-checks
  the entities of open alerts, and to rows changed since the last scan (`ctx.since`) for the rules marked
  incremental.
* `storage`: Checks on containers in storage: close to or over the storage limit, medical waste over its hours.
* `manifests`: Checks on transfer manifests: overdue receipt, weight discrepancy, receiver not permitted, a
  manifest between the same parties, overweight loads, transfers outside the management plan.
* `capacity`: Checks on licensed operators' capacity: permitted capacity exceeded, load too high or too low for
  the time of year.
* `permits`: Checks on permits and vehicles: expiring and expired.
* `plans`: Checks on plans, declarations and ledgers: generation over plan, plan or declaration overdue, monthly
  ledger missing, mass balance.
* `tracks`: Checks on transport tracks: gaps, long stops, leaving the corridor, signing far from the place.
"""
