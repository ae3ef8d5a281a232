"""Spreadsheets in and out: uploads (.xlsx, .csv) read within bounds, and exports whose text never runs.

Every import of the product reads through `read`; every export writes through `workbook_bytes` (.xlsx) or
`csv_row` (.csv), which keep text that a spreadsheet program would take for a formula (it starts with
= + - @, a tab or a carriage return) as text: in .xlsx the cell is a text cell, unchanged, marked with
Excel's quote prefix; in .csv it is written after an apostrophe. Numbers stay numbers, and so does text that
is only a number ("-1.5").

Reading:

An upload is refused before anything is built from it when it is larger than the region's limit
(`imports.max_file_mb`), holds more data rows than `imports.max_rows`, a value beyond column
`imports.max_columns` or more filled cells than `imports.max_cells` (reading time and memory grow with
them). A workbook is first scanned as a stream (no tree, constant memory): its parts together may unpack
to at most ten times the size limit, its XML may declare no entities (billion laughs, external entities:
refused), the scan counts the rows, columns and cells that hold values, so the `<dimension>` a file claims
is never trusted, and the shared strings (which openpyxl keeps whole) may be no more than the sheet uses.
Only then does openpyxl read the first sheet, read-only, with its declared dimension reset, row by row.
defusedxml is installed, so openpyxl's own XML parsing refuses entities as well.

Errors name their row and column (Excel numbering; row 0 is the file as a whole), like the imports' own.
"""

import contextlib
import csv
import io
import posixpath
import re
import zipfile
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from xml.sax import SAXException
from xml.sax.handler import ContentHandler, feature_namespaces

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from defusedxml.sax import make_parser
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, range_boundaries

from wufei.core import parameters
from wufei.core.errors import PermissionDenied, ValidationFailed

EXCEL_MAX_COLUMNS = 16384
UNPACKED_PER_PACKED_LIMIT = 10  # a workbook's parts may unpack to this many times the size limit
SMALL_PART_BYTES = 16 * 2**20  # XML parts other than sheets and the shared strings (styles, workbook, rels)


class FileRejected(ValidationFailed):
    code = "import_rejected"


def _error(message: str, *, row: int = 0, column: str = "") -> dict:
    return {"row": row, "column": column, "field": "", "message": message}


def reject(message: str, *, row: int = 0, column: str = ""):
    raise FileRejected(message, errors=[_error(message, row=row, column=column)])


# --- limits --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_cells: int = 2000000

    @property
    def max_unpacked_bytes(self) -> int:
        return self.max_bytes * UNPACKED_PER_PACKED_LIMIT


def limits(region=None) -> Limits:
    """The limits in force in a region (a code or Region; None: the platform's)."""
    return Limits(max_bytes=int(float(parameters.get("imports.max_file_mb", region)) * 2**20),
                  max_rows=int(parameters.get("imports.max_rows", region)),
                  max_columns=int(parameters.get("imports.max_columns", region)),
                  max_cells=int(parameters.get("imports.max_cells", region)))


def region_of(scope) -> str | None:
    """The region whose limits apply to a caller: a regulator's own, else its first organization's."""
    if scope.region_codes:
        return scope.region_codes[0]
    if scope.organization_ids:
        from wufei.registry.models import Organization

        return Organization.objects.filter(pk__in=scope.organization_ids).order_by("pk").values_list(
            "region__code", flat=True).first()
    return None


def limits_for(scope) -> Limits:
    return limits(region_of(scope))


def check_size(size: int | None, limit: Limits) -> None:
    """Refuse an upload larger than the limit (its size is known before it is read)."""
    if size is not None and size > limit.max_bytes:
        reject(_("the file is larger than %(n)s MB, the most an import may hold here")
               % {"n": _megabytes(limit.max_bytes)})


def read_upload(upload, limit: Limits) -> bytes:
    """The content of an uploaded file (Django's UploadedFile), refused unread when larger than the limit."""
    check_size(upload.size, limit)
    content = upload.read(limit.max_bytes + 1)
    check_size(len(content), limit)
    return content


def _megabytes(size: int) -> str:
    return f"{size / 2**20:g}"


def require(allowed: bool, message: str) -> None:
    """Refuse a caller before its upload is read."""
    if not allowed:
        raise PermissionDenied(message)


# --- reading -------------------------------------------------------------------------------------

@dataclass
class SheetRow:
    number: int  # the row's number in the file (the header is usually row 1)
    cells: list
    merged: set = field(default_factory=set)  # column indexes continuing a merged cell from a row above


def read(content: bytes, filename: str, *, limit: Limits, merged: bool = False) -> tuple[list[str], list[SheetRow]]:
    """Header and non-blank data rows of the first sheet of an .xlsx, or of a CSV (UTF-8 or GB18030).

    With `merged`, a merged cell's value fills every cell of its range (on rows and columns read)."""
    check_size(len(content), limit)
    name = (filename or "").lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        table = _read_xlsx(content, limit, merged)
    elif name.endswith(".csv"):
        table = _read_csv(content, limit)
    else:
        reject(_("only .xlsx and .csv files can be imported"))
    table = [row for row in table if any(not _blank(cell) for cell in row.cells)]
    if not table:
        reject(_("the file is empty: no header row"), row=1, column="A")
    header = ["" if cell is None else str(cell).strip() for cell in table[0].cells]
    return header, table[1:]


class _Enough(Exception):
    pass


def count_rows(content: bytes, filename: str, *, limit: Limits, stop_at: int | None = None) -> int:
    """Data rows of a file (the header left out), counted by the same bounded scan that reads it; a workbook's
    scan stops once it has seen `stop_at` rows (enough to decide, e.g., that a job imports the file)."""
    check_size(len(content), limit)
    if (filename or "").lower().endswith(".xlsx") or content[:2] == b"PK":
        archive = _open_archive(content, limit)
        handler = _SheetScan(limit, merged=False, stop_at=None if stop_at is None else stop_at + 1)
        with contextlib.suppress(_Enough):
            _scan(archive, _first_sheet(archive), handler)
        return max(0, handler.content_rows - 1)
    return len(read(content, filename, limit=limit)[1])


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _too_many_rows(limit: Limits, row: int):
    reject(_("more than %(n)d data rows: the most an import may hold here is %(n)d rows") % {"n": limit.max_rows},
           row=row, column="A")


def _too_many_columns(limit: Limits, row: int, column: int):
    reject(_("a value beyond column %(letter)s: the most an import may hold here is %(n)d columns")
           % {"letter": get_column_letter(limit.max_columns), "n": limit.max_columns},
           row=row, column=get_column_letter(min(column, EXCEL_MAX_COLUMNS)))


def _too_many_cells(limit: Limits, row: int, column: int):
    reject(_("more than %(n)d filled cells: the most an import may hold here") % {"n": limit.max_cells},
           row=row, column=get_column_letter(min(max(column, 1), EXCEL_MAX_COLUMNS)))


def _read_csv(content: bytes, limit: Limits) -> list[SheetRow]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        reject(_("the CSV file is neither UTF-8 nor GB18030 text"))
    table, filled, cells_filled = [], 0, 0
    reader = csv.reader(io.StringIO(text))
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            while cells and _blank(cells[-1]):
                cells.pop()
            if not cells:
                continue
            if len(cells) > limit.max_columns:
                _too_many_columns(limit, number, len(cells))
            filled += 1
            if filled - 1 > limit.max_rows:
                _too_many_rows(limit, number)
            cells_filled += sum(1 for cell in cells if not _blank(cell))
            if cells_filled > limit.max_cells:
                _too_many_cells(limit, number, len(cells))
            table.append(SheetRow(number, cells))
    except csv.Error as exc:
        reject(_("the CSV file cannot be read: %(e)s") % {"e": exc}, row=number + 1)
    return table


# --- .xlsx ---------------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _unreadable(exc) -> None:
    reject(_("the file is not a readable .xlsx workbook: %(e)s") % {"e": exc})


def _open_archive(content: bytes, limit: Limits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        _unreadable(exc)
    # a member's declared size bounds what reading it yields (zipfile stops there and checks the CRC)
    if sum(member.file_size for member in members) > limit.max_unpacked_bytes:
        reject(_("the workbook unpacks to more than %(n)s MB") % {"n": _megabytes(limit.max_unpacked_bytes)})
    for member in members:
        small = member.filename.endswith((".xml", ".rels")) and "worksheets/" not in member.filename \
            and not member.filename.endswith("sharedStrings.xml")
        if small and member.file_size > SMALL_PART_BYTES:
            reject(_("the workbook part %(part)s is too large") % {"part": member.filename[:100]})
    return archive


def _xml(archive: zipfile.ZipFile, name: str):
    try:
        return fromstring(archive.read(name), forbid_dtd=True)
    except KeyError as exc:
        _unreadable(exc)
    except DefusedXmlException:
        _refuse_declarations()
    except Exception as exc:  # malformed XML, damaged member
        _unreadable(exc)


def _refuse_declarations():
    reject(_("the workbook declares XML entities or a DTD, which a spreadsheet never needs; it was not read"))


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(archive: zipfile.ZipFile, part: str) -> dict:
    folder, name = posixpath.split(part)
    rels = _xml(archive, posixpath.join(folder, "_rels", f"{name}.rels"))
    return {rel.get("Id"): (rel.get("Type", ""), _target(part, rel.get("Target", "")))
            for rel in rels.iter(f"{{{RELS}}}Relationship")}


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The part of the workbook's first worksheet (the one openpyxl's `worksheets[0]` reads)."""
    roots = _rels_of(archive, "")
    workbook = next((target for kind, target in roots.values() if kind.endswith("/officeDocument")), None)
    if workbook is None:
        _unreadable("no workbook part")
    rels = _rels_of(archive, workbook)
    for sheet in _xml(archive, workbook).iter(f"{{{MAIN}}}sheet"):
        kind, target = rels.get(sheet.get(f"{{{DOC_RELS}}}id"), ("", ""))
        if kind.endswith("/worksheet"):
            return target
    _unreadable("no worksheet")


class _SheetScan(ContentHandler):
    """Counts the rows and the columns that hold values, as a stream; stops at the first limit passed."""

    def __init__(self, limit: Limits, merged: bool, stop_at: int | None = None):
        super().__init__()
        self.limit, self.keep_merges, self.stop_at = limit, merged, stop_at
        self.row = self.column = self.cells = self.content_rows = self.filled = 0
        self.row_has_value = self.cell_has_value = False
        self.merges: list[str] = []

    def startElementNS(self, name, qname, attrs):
        uri, local = name
        if uri != MAIN:
            return
        if local == "row":
            self.row = _int(attrs.get((None, "r"))) or self.row + 1
            self.column = self.cells = 0
            self.row_has_value = False
        elif local == "c":
            self.cells += 1
            if self.cells > EXCEL_MAX_COLUMNS:
                reject(_("row %(r)d has more cells than a sheet can hold") % {"r": self.row}, row=self.row)
            reference = attrs.get((None, "r"))
            self.column = _column(reference) if reference else self.column + 1
            self.cell_has_value = False
        elif local in ("v", "is"):
            self.cell_has_value = True
        elif local == "mergeCell" and self.keep_merges:
            if len(self.merges) >= self.limit.max_rows:
                reject(_("the sheet has more merged ranges than rows allowed"))
            self.merges.append(attrs.get((None, "ref"), ""))

    def endElementNS(self, name, qname):
        uri, local = name
        if uri != MAIN:
            return
        if local == "c" and self.cell_has_value:
            if self.column > self.limit.max_columns:
                _too_many_columns(self.limit, self.row, self.column)
            self.filled += 1
            if self.filled > self.limit.max_cells:
                _too_many_cells(self.limit, self.row, self.column)
            self.row_has_value = True
        elif local == "row" and self.row_has_value:
            self.content_rows += 1
            if self.content_rows - 1 > self.limit.max_rows:
                _too_many_rows(self.limit, self.row)
            if self.stop_at is not None and self.content_rows >= self.stop_at:
                raise _Enough


class _StringsScan(ContentHandler):
    """Counts the shared strings (read whole by openpyxl): no more than the first sheet's cells can use."""

    OTHER_SHEETS = 10000  # strings of other sheets (a template's notes) beyond those the first sheet may use

    def __init__(self, cells: int):
        super().__init__()
        self.most, self.count = cells + self.OTHER_SHEETS, 0

    def startElementNS(self, name, qname, attrs):
        if name == (MAIN, "si"):
            self.count += 1
            if self.count > self.most:
                reject(_("the workbook holds more text than its first sheet uses; save that sheet alone and "
                         "import it again"))


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _column(reference: str) -> int:
    try:
        return column_index_from_string(coordinate_from_string(reference)[0])
    except ValueError:
        return EXCEL_MAX_COLUMNS + 1


def _scan(archive: zipfile.ZipFile, part: str, handler: ContentHandler) -> None:
    parser = make_parser()
    parser.forbid_dtd = True  # defusedxml: no DTD, no entities, no external references
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    try:
        with archive.open(part) as stream:
            parser.parse(stream)
    except DefusedXmlException:
        _refuse_declarations()
    except FileRejected:
        raise
    except (SAXException, KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        _unreadable(exc)


def _scan_sheet(archive: zipfile.ZipFile, part: str, limit: Limits, *, merged: bool) -> _SheetScan:
    handler = _SheetScan(limit, merged)
    _scan(archive, part, handler)
    for name in archive.namelist():  # the shared strings are read whole: counted, and no declarations there
        if name.endswith("sharedStrings.xml"):
            _scan(archive, name, _StringsScan(handler.filled))
    return handler


def _read_xlsx(content: bytes, limit: Limits, merged: bool) -> list[SheetRow]:
    archive = _open_archive(content, limit)
    scan = _scan_sheet(archive, _first_sheet(archive), limit, merged=merged)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared <dimension> is what a bomb lies about
        table = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(cells[:limit.max_columns])
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                table.append(SheetRow(number, cells))
        workbook.close()
    except FileRejected:
        raise
    except DefusedXmlException:
        _refuse_declarations()
    except Exception as exc:  # openpyxl raises many types for a damaged file
        _unreadable(exc)
    if merged and scan.merges:
        _fill_merges(table, scan.merges, limit)
    return table


def _fill_merges(table: list[SheetRow], merges: list[str], limit: Limits) -> None:
    """A merged range shows its top-left value in every cell; only cells of rows and columns read are filled."""
    numbers = [row.number for row in table]  # ascending
    budget = max(1, sum(len(row.cells) for row in table)) + limit.max_rows * 2
    for reference in merges:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(reference)
        except (TypeError, ValueError):
            continue
        first, last = bisect_left(numbers, min_row), bisect_right(numbers, max_row)
        top = table[first] if first < len(table) and numbers[first] == min_row else None
        value = top.cells[min_col - 1] if top is not None and min_col - 1 < len(top.cells) else None
        max_col = min(max_col, limit.max_columns)
        for row in table[first:last]:
            number = row.number
            for column in range(min_col, max_col + 1):
                budget -= 1
                if budget < 0:
                    reject(_("the sheet's merged ranges overlap"))
                while len(row.cells) < column:
                    row.cells.append(None)
                row.cells[column - 1] = value
                if number > min_row:
                    row.merged.add(column - 1)


# --- writing -------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def runs_as_formula(value) -> bool:
    """Whether a spreadsheet program could take this value for a formula (text only; "-1.5" is a number)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)


def csv_row(values) -> list:
    """A row for csv.writer: text that could run as a formula is written after an apostrophe."""
    return ["'" + value if runs_as_formula(value) else value for value in values]


def workbook_bytes(workbook) -> bytes:
    """The saved workbook; a text cell that could run as a formula stays a text cell (openpyxl would have made
    '=…' a formula), with Excel's quote prefix so editing it keeps it text."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if runs_as_formula(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
