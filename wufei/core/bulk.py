"""Bulk inserts with reserved ids: many rows in a few statements, exactly as the ORM would have written them.

    from wufei.core import bulk

    table = bulk.table(ScanEvent)
    ids = table.reserve_ids(len(rows))            # ids known before the insert: rows can refer to each other
    rows = [{**table.defaults, "id": pk, ...} for pk in ids]
    table.insert(rows)                           # COPY on PostgreSQL, multi-row INSERTs on SQLite

Rows are dicts holding every concrete field's attname (start from `table.defaults`). Values go
through the backend's own adapters (datetimes, decimals, JSON), so the stored rows are what
`bulk_create` would store, without its per-value overhead. Nothing else happens: no `save()`, no
signals, no audit link — the caller appends those (`wufei.core.audit.append_many`).

Ids come from the table's sequence on PostgreSQL; on SQLite from after the largest id ever used,
which is safe because writers hold SQLite's write lock for the whole transaction (IMMEDIATE
transactions, settings.DATABASES): reserve and insert in the same transaction.
"""

import functools
import operator

from django.core.exceptions import ImproperlyConfigured
from django.db import connection


class JSONText(str):
    """JSON already serialized (an audit payload): stored as it is, not serialized again."""


class Table:
    """One model's bulk writer: `defaults`, `reserve_ids(count)`, `insert(rows)`."""

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields if not f.primary_key}

    def reserve_ids(self, count: int) -> list[int]:
        """`count` new primary keys, increasing, that no other writer will use."""
        if count <= 0:
            return []
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                               [table, count])
                return sorted(row[0] for row in cursor.fetchall())
            if connection.vendor != "sqlite":
                raise ImproperlyConfigured(f"bulk inserts support SQLite and PostgreSQL, not {connection.vendor}")
            cursor.execute(f"SELECT MAX(id), (SELECT seq FROM sqlite_sequence WHERE name = %s) "
                           f"FROM {connection.ops.quote_name(table)}", [table])
            largest, sequence = cursor.fetchone()
            start = max(largest or 0, sequence or 0) + 1
        return list(range(start, start + count))

    def _adapters(self):
        ops = connection.ops
        adapters = []
        for field in self.fields:
            kind = field.get_internal_type()
            if kind == "DateTimeField":
                adapters.append(ops.adapt_datetimefield_value)
            elif kind == "DecimalField":
                adapters.append(functools.partial(_adapt_decimal, ops, field.max_digits, field.decimal_places))
            elif kind == "JSONField":
                adapters.append(functools.partial(_adapt_json, ops, field.encoder))
            elif kind == "DateField":
                adapters.append(ops.adapt_datefield_value)
            else:
                adapters.append(None)
        return adapters

    def insert(self, rows: list[dict], *, batch_size: int = 2000) -> None:
        """Insert `rows` (dicts with every field's attname, the id included) in as few statements as fit."""
        if not rows:
            return
        getter = operator.itemgetter(*self.attnames)
        adapt_at = [(index, _memoized(adapt)) for index, adapt in enumerate(self._adapters()) if adapt]
        width = len(self.fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        placeholders = "(" + ", ".join(["%s"] * width) + ")"
        per_statement = max(1, min(batch_size, max_params() // width))
        table = quote(self.model._meta.db_table)

        def adapted(row):
            values = list(getter(row)) if width > 1 else [getter(row)]
            for index, adapt in adapt_at:
                if values[index] is not None:
                    values[index] = adapt(values[index])
            return values

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: several times faster than INSERT … VALUES
                with connection.wrap_database_errors, \
                        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(adapted(row))
                return
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                params = []
                for row in chunk:
                    params += adapted(row)
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))}",
                               params)


_TABLES: dict = {}


def table(model) -> Table:
    """The model's bulk writer (built once per model)."""
    try:
        return _TABLES[model]
    except KeyError:
        result = _TABLES[model] = Table(model)
        return result


def max_params() -> int:
    """How many parameters one statement may carry on this connection."""
    if connection.vendor == "sqlite":
        import sqlite3

        try:
            return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):
            return 999
    return 65535  # PostgreSQL's wire protocol limit


def _memoized(adapt):
    """Rows of one insert repeat the same times and weights: adapt each distinct value once."""
    cache = {}

    def adapted(value):
        try:
            return cache[value]
        except KeyError:
            result = cache[value] = adapt(value)
            return result
        except TypeError:  # unhashable (JSON payloads)
            return adapt(value)

    return adapted


def _adapt_decimal(ops, max_digits, decimal_places, value):
    return None if value is None else ops.adapt_decimalfield_value(value, max_digits, decimal_places)


def _adapt_json(ops, encoder, value):
    return value if isinstance(value, JSONText) else ops.adapt_json_value(value, encoder)
