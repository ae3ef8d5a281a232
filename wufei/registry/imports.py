"""Import organizations, sites, vehicles and permits from .xlsx or .csv.

A file is checked whole first: every bad cell is reported with its row and column
(Excel numbering: the header is row 1, column A…). Only a file without errors is
written, inside one transaction, so a failure never leaves half a file behind.
Headers may be the field names or their Chinese labels (the export's layout).
"""

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from wufei.core import audit, import_jobs, spreadsheets
from wufei.core.errors import WufeiError
from wufei.core.parsing import FieldSpec, clean
from wufei.core.scope import Scope
from wufei.registry import fields as field_specs
from wufei.registry import services
from wufei.registry.models import OperatingPermit, Organization, Site, Vehicle

PERMIT_ROW = {**field_specs.PERMIT, **field_specs.PERMIT_LINE}
CHUNK_ROWS = 1000  # rows checked with one query per catalog lookup, and units registered with one insert


@dataclass
class Row:
    number: int
    values: dict
    columns: dict  # field -> column letter


def _permit_rows_agree(rows: list[Row]) -> list[dict]:
    """Rows sharing a permit number are lines of one permit: they must agree on the permit's own fields."""
    errors, first_of = [], {}
    for row in rows:
        number = row.values.get("number")
        if not number:
            continue
        first = first_of.setdefault(number, row)
        for name in field_specs.PERMIT:
            if row is not first and name in row.values and name in first.values \
                    and row.values[name] != first.values[name]:
                errors.append({"row": row.number, "column": row.columns.get(name, ""), "field": name,
                               "message": _("differs from row %(r)d of the same permit") % {"r": first.number}})
    return errors


@dataclass(frozen=True)
class ImportSpec:
    fields: dict[str, FieldSpec]
    key: tuple[str, ...]
    check_rows: Callable[[list[Row]], list[dict]] | None = None


SPECS = {
    "organizations": ImportSpec(field_specs.ORGANIZATION, ("uscc",)),
    "sites": ImportSpec(field_specs.SITE, ("organization", "name")),
    "vehicles": ImportSpec(field_specs.VEHICLE, ("plate",)),
    "permits": ImportSpec(PERMIT_ROW, ("number", "waste"), _permit_rows_agree),
}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "created": self.created, "updated": self.updated}


ImportRejected = spreadsheets.FileRejected  # code "import_rejected": errors by row and column


# --- reading ------------------------------------------------------------------------------

def read_table(content: bytes, filename: str, *, limit: spreadsheets.Limits) -> tuple[list[str], list[list]]:
    """Header and data rows of the first sheet (.xlsx) or of a CSV (UTF-8 or GB18030), within `limit`."""
    header, rows = spreadsheets.read(content, filename, limit=limit)
    return header, [row.cells for row in rows]


def may_import(scope: Scope) -> bool:
    """Regulators import into their region; an enterprise's administrators their own sites, vehicles and permits."""
    return scope.is_regulator or bool(scope.admin_organization_ids)


def header_map(spec: ImportSpec, header: list[str]) -> tuple[dict[str, int], list[dict]]:
    """field -> column index, and errors for unknown, duplicate and missing columns (row 1)."""
    by_label = {}
    for name, field_spec in spec.fields.items():
        by_label[name] = name
        if field_spec.label:
            by_label[field_spec.label] = name
    columns, errors = {}, []
    for index, title in enumerate(header):
        if not title:
            continue
        name = by_label.get(title) or by_label.get(title.split("(")[0].split("（")[0].strip())
        letter = get_column_letter(index + 1)
        if name is None:
            message = _("unknown column %(t)s") % {"t": title}
            errors.append({"row": 1, "column": letter, "field": "", "message": message})
        elif name in columns:
            errors.append({"row": 1, "column": letter, "field": name, "message": _("column appears twice")})
        else:
            columns[name] = index
    for name, field_spec in spec.fields.items():
        if field_spec.required and name not in columns:
            errors.append({"row": 1, "column": "", "field": name,
                           "message": _("required column missing: %(n)s (%(l)s)") % {"n": name, "l": field_spec.label}})
    return columns, errors


def parse_rows(spec: ImportSpec, header: list[str], table: Iterable[list], *,
               progress: Callable | None = None) -> tuple[list[Row], list[dict]]:
    columns, errors = header_map(spec, header)
    if errors:
        return [], errors
    letters = {name: get_column_letter(index + 1) for name, index in columns.items()}
    rows, seen_keys = [], {}
    cells_of = import_jobs.reporting(table, progress, "checked")
    while chunk := list(itertools.islice(cells_of, CHUNK_ROWS)):
        raws = [{name: cells[index] if index < len(cells) else None for name, index in columns.items()}
                for cells in chunk]
        with field_specs.prefetched(spec.fields, raws):  # one query per catalog lookup for the whole chunk
            for raw in raws:
                number = len(rows) + 2
                values, row_errors = clean(spec.fields, raw)
                for error in row_errors:
                    errors.append({"row": number, "column": letters.get(error["field"], ""), **error})
                key = tuple(str(raw.get(k) or "").strip().upper() for k in spec.key)
                if all(key) and key in seen_keys:
                    errors.append({"row": number, "column": letters[spec.key[0]], "field": spec.key[0],
                                   "message": _("same as row %(r)d") % {"r": seen_keys[key]}})
                seen_keys.setdefault(key, number)
                valid = {k: v for k, v in values.items() if k not in {e["field"] for e in row_errors}}
                rows.append(Row(number, valid, letters))
    if spec.check_rows:
        errors += spec.check_rows(rows)
    return rows, errors


# --- writing ------------------------------------------------------------------------------

def check_caller(scope: Scope) -> None:
    """Refuse a caller who may not import before anything of its file is read."""
    spreadsheets.require(may_import(scope), _("only regulators and enterprise administrators import into the "
                                               "registry"))


def import_or_queue(*, scope: Scope, user, kind: str, content: bytes, filename: str):
    """A file of `imports.background_min_rows` rows or more is stored and imported by a job (returns the Job);
    a smaller one is imported now (returns the ImportResult)."""
    check_caller(scope)
    limit = spreadsheets.limits_for(scope)
    if import_jobs.is_large(content, filename, limit=limit, region=spreadsheets.region_of(scope)):
        return import_jobs.queue("registry.import", kind, user=user, content=content, filename=filename,
                                 label=f"{filename} → {kind}")
    return import_file(scope=scope, kind=kind, content=content, filename=filename)


def import_file(*, scope: Scope, kind: str, content: bytes, filename: str,
                progress: Callable | None = None) -> ImportResult:
    """Check the whole file, then write it in one transaction; raise ImportRejected listing every error.
    `progress(stage, done, total)` hears of the rows checked, then written (a background job's page)."""
    check_caller(scope)
    spec = SPECS[kind]
    header, table = read_table(content, filename, limit=spreadsheets.limits_for(scope))
    rows, errors = parse_rows(spec, header, table, progress=progress)
    result = ImportResult(kind=kind, rows=len(rows))
    if errors:
        _reject(errors)
    try:
        with transaction.atomic(), audit.acting_as(audit.current_actor() or f"import:{kind}"):
            WRITERS[kind](scope, import_jobs.reporting(rows, progress, "written"), result)
            if result.errors:
                raise _Rollback
    except _Rollback:
        _reject(result.errors)
    return result


class _Rollback(Exception):
    pass


def _reject(errors: list[dict]):
    errors = sorted(errors, key=lambda e: (e["row"], e["column"]))
    raise ImportRejected(_("the file was not imported: %(n)d error(s); nothing was written") % {"n": len(errors)},
                         errors=errors)


def _row_errors(row: Row, exc: WufeiError) -> list[dict]:
    if not exc.errors:
        return [{"row": row.number, "column": "", "field": "", "message": exc.message}]
    return [{"row": row.number, "column": row.columns.get(e.get("field", "").split(".")[-1], ""),
             "field": e.get("field", ""), "message": e.get("message", exc.message)} for e in exc.errors]


def _write_organizations(scope: Scope, rows: Iterable[Row], result: ImportResult) -> None:
    """New units are registered a chunk at a time (`services.create_organizations`), known ones updated one by
    one as through the API."""
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        known = {o.uscc: o for o in Organization.objects.filter(uscc__in=[row.values["uscc"] for row in chunk])
                 .only("pk", "uscc", "version")}
        new = [row for row in chunk if row.values["uscc"] not in known]
        created, refused = services.create_organizations(scope=scope, values=[row.values for row in new])
        result.created += len(created)
        for index, exc in refused.items():
            result.errors += _row_errors(new[index], exc)
        for row in chunk:
            existing = known.get(row.values["uscc"])
            if existing is None:
                continue
            try:
                services.update_organization(scope=scope, organization_id=existing.pk, data=_as_input(row.values),
                                             version=existing.version)
                result.updated += 1
            except WufeiError as exc:
                result.errors += _row_errors(row, exc)


def _as_input(values: dict) -> dict:
    """Turn parsed values back into the plain inputs services accept (codes, not rows)."""
    data = {}
    for name, value in values.items():
        if hasattr(value, "code"):
            data[name] = value.code
        elif name in ("methods",) and value is not None:
            data[name] = [m.code for m in value]
        else:
            data[name] = value
    return {k: v for k, v in data.items() if v is not None}


def _write_sites(scope: Scope, rows: Iterable[Row], result: ImportResult) -> None:
    for row in rows:
        data = _as_input(row.values)
        existing = Site.objects.filter(organization__uscc=data["organization"], name=data["name"]).first()
        try:
            if existing:
                patch = {k: v for k, v in data.items() if k != "organization"}
                services.update_site(scope=scope, site_id=existing.pk, data=patch, version=existing.version)
                result.updated += 1
            else:
                services.add_site(scope=scope, data=data)
                result.created += 1
        except WufeiError as exc:
            result.errors += _row_errors(row, exc)


def _write_vehicles(scope: Scope, rows: Iterable[Row], result: ImportResult) -> None:
    for row in rows:
        data = _as_input(row.values)
        existing = Vehicle.objects.filter(plate=data["plate"]).first()
        try:
            if existing:
                services.update_vehicle(scope=scope, vehicle_id=existing.pk, data=data, version=existing.version)
                result.updated += 1
            else:
                services.add_vehicle(scope=scope, data=data)
                result.created += 1
        except WufeiError as exc:
            result.errors += _row_errors(row, exc)


def _write_permits(scope: Scope, rows: Iterable[Row], result: ImportResult) -> None:
    """Rows are permit lines; rows sharing a permit number form one permit (checked to agree when parsed)."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.values["number"], []).append(row)
    for number, group in groups.items():
        first = group[0]
        data = {k: v for k, v in _as_input(first.values).items() if k in field_specs.PERMIT}
        lines = [{k: v for k, v in _as_input(row.values).items() if k in field_specs.PERMIT_LINE} for row in group]
        existing = OperatingPermit.objects.filter(number=number).first()
        try:
            if existing:
                services.replace_permit(scope=scope, permit_id=existing.pk, data=data, lines=lines,
                                        version=existing.version)
                result.updated += 1
            else:
                services.add_permit(scope=scope, data=data, lines=lines)
                result.created += 1
        except WufeiError as exc:
            for error in _row_errors(first, exc):
                field_path = error["field"].split(".")
                if len(field_path) == 3 and field_path[0] == "lines":
                    line_row = group[int(field_path[1])]
                    error = {**error, "row": line_row.number, "column": line_row.columns.get(field_path[2], "")}
                result.errors.append(error)


WRITERS = {
    "organizations": _write_organizations,
    "sites": _write_sites,
    "vehicles": _write_vehicles,
    "permits": _write_permits,
}
