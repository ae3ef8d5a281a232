"""Row locks for a change: one rule for every service.

`lock_rows(queryset)` locks the queryset's own rows until the transaction ends — not the rows its `select_related`
joins (a manifest's lock must not lock its generator, its region or the waste catalogue for everyone else), and on
PostgreSQL as FOR NO KEY UPDATE, which lets other transactions insert rows that refer to the locked ones (their
foreign-key checks take KEY SHARE, which FOR UPDATE would block and turn concurrent writers into deadlocks).
SQLite serializes writers itself and ignores the lock.
"""


def lock_rows(queryset):
    return queryset.select_for_update(of=("self",), no_key=True)
