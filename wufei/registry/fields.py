"""Declarative field specs of the registry: what each input field accepts.

The same specs serve the API, the pages and the Excel/CSV imports, so a value
rejected in one place is rejected everywhere with the same message.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.utils.translation import gettext as _

from wufei.catalog import services as catalog
from wufei.core.errors import WufeiError
from wufei.core.ids import InvalidIdentifier, validate_plate, validate_uscc
from wufei.core.parsing import FieldSpec, choice, code_list, date, decimal, is_blank, text
from wufei.core.parsing import tonnes as parse_tonnes
from wufei.registry.models import OperatingPermit, Organization, Site

ROLE_LABELS = {
    "generator": "产废单位",
    "transporter": "运输单位",
    "collector": "收集单位",
    "receiver": "接收单位",
    "medical_institution": "医疗机构",
}
ROLE_ALIASES = {"licensed_operator": "receiver", "经营单位": "receiver", "利用处置单位": "receiver",
                "小微收运单位": "collector", "医疗卫生机构": "medical_institution"}


def uscc(value):
    try:
        return validate_uscc(str(value))
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from exc


def plate(value):
    try:
        return validate_plate(str(value))
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from exc


class Lookup:
    """A cell naming a catalog row (a region, zone, waste code …), parsed into the row.

    One by one, each cell costs a query (`get`). A file import fetches the rows that a whole chunk of its
    cells name at once, with one query per kind (`prefetched`), and the cells of that chunk are then found
    among them; a cell naming nothing falls back to `get`, which says what is wrong with it.
    """

    def __init__(self, get, get_many, key=str.strip):
        self.get, self.get_many, self.key = get, get_many, key

    def __call__(self, value):
        raw = _cell_text(value)
        found = (_PREFETCHED.get() or {}).get(self, {}).get(self.key(raw))
        if found is not None:
            return found
        try:
            return self.get(raw)
        except WufeiError as exc:
            raise ValueError(exc.message) from exc


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_PREFETCHED: ContextVar[dict | None] = ContextVar("registry_prefetched_lookups", default=None)

region = Lookup(catalog.get_region, catalog.regions_by_code)
zone = Lookup(catalog.get_zone, catalog.zones_by_code)
waste_code = Lookup(catalog.get_hazardous_waste, catalog.hazardous_wastes_by_code)
category = Lookup(catalog.get_category, catalog.categories_by_code, key=str.upper)
method = Lookup(catalog.get_treatment_method, catalog.treatment_methods_by_code, key=lambda raw: raw.strip().upper())


def waste_code_or_category(value):
    """'900-041-49' → HazardousWaste, 'HW49' → HazardousWasteCategory."""
    raw = str(value).strip().upper()
    return category(raw) if raw.startswith("HW") else waste_code(raw)


def _wanted(parse, value, wanted: dict) -> None:
    """Note which catalog rows the cell `value` of a field parsed by `parse` names."""
    if isinstance(parse, Lookup):
        wanted.setdefault(parse, set()).add(parse.key(_cell_text(value)))
    elif parse is waste_code_or_category:
        raw = str(value).strip().upper()
        _wanted(category if raw.startswith("HW") else waste_code, raw, wanted)
    elif getattr(parse, "parse_one", None) is not None:
        for part in parse.parts(value):
            _wanted(parse.parse_one, part, wanted)


@contextmanager
def prefetched(spec: dict[str, FieldSpec], rows: list[dict]):
    """Within the block, the catalog lookups of `spec` find what the cells of `rows` ({field: cell}) name among
    rows fetched with one query per lookup kind, instead of one query per cell."""
    wanted: dict[Lookup, set] = {}
    for name, field_spec in spec.items():
        for row in rows:
            value = row.get(name)
            if not is_blank(value):
                _wanted(field_spec.parse, value, wanted)
    token = _PREFETCHED.set({lookup: lookup.get_many(keys) for lookup, keys in wanted.items()})
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


def role(value):
    raw = str(value).strip()
    raw = ROLE_ALIASES.get(raw, raw)
    return choice(ROLE_LABELS)(raw)


def coordinate(limit: int):
    return decimal(minimum=Decimal(-limit), maximum=Decimal(limit))


tonnes = parse_tonnes()

ORGANIZATION = {
    "uscc": FieldSpec(uscc, required=True, label="统一社会信用代码"),
    "name": FieldSpec(text(200), required=True, label="单位名称"),
    "region": FieldSpec(region, required=True, label="行政区划代码"),
    "zone": FieldSpec(zone, label="园区代码"),
    "address": FieldSpec(text(300), label="地址"),
    "longitude": FieldSpec(coordinate(180), label="经度"),
    "latitude": FieldSpec(coordinate(90), label="纬度"),
    "industry_code": FieldSpec(text(5), label="行业代码"),
    "industry_name": FieldSpec(text(100), label="行业名称"),
    "legal_representative": FieldSpec(text(50), label="法定代表人"),
    "contact_name": FieldSpec(text(50), label="联系人"),
    "contact_phone": FieldSpec(text(30), label="联系电话"),
    "roles": FieldSpec(code_list(role), required=True, label="单位类型"),
    "annual_hazardous_waste_tonnes": FieldSpec(tonnes, label="危险废物年产生量(吨)"),
    "registered_on": FieldSpec(date(), label="登记日期"),
}

SITE = {
    "organization": FieldSpec(uscc, required=True, label="单位统一社会信用代码"),
    "name": FieldSpec(text(200), required=True, label="场所名称"),
    "kind": FieldSpec(choice(dict(Site.Kind.choices)), required=True, label="场所类型"),
    "address": FieldSpec(text(300), label="地址"),
    "longitude": FieldSpec(coordinate(180), label="经度"),
    "latitude": FieldSpec(coordinate(90), label="纬度"),
    "storage_capacity_tonnes": FieldSpec(tonnes, label="贮存能力(吨)"),
    "design_capacity_tonnes_per_year": FieldSpec(tonnes, label="设计能力(吨/年)"),
    "capacity_note": FieldSpec(text(200), label="能力说明"),
}

VEHICLE = {
    "organization": FieldSpec(uscc, required=True, label="单位统一社会信用代码"),
    "plate": FieldSpec(plate, required=True, label="车牌号"),
    "vehicle_type": FieldSpec(text(60), label="车辆类型"),
    "load_capacity_tonnes": FieldSpec(decimal(minimum=Decimal(0), places=3, max_digits=9), label="核定载质量(吨)"),
    "transport_permit_number": FieldSpec(text(40), required=True, label="道路运输证号"),
    "transport_permit_valid_until": FieldSpec(date(), required=True, label="道路运输证有效期至"),
}

PERMIT = {
    "organization": FieldSpec(uscc, required=True, label="单位统一社会信用代码"),
    "number": FieldSpec(text(60), required=True, label="许可证编号"),
    "kind": FieldSpec(choice(dict(OperatingPermit.Kind.choices)), required=True, label="许可证类型"),
    "issuing_authority": FieldSpec(text(100), label="发证机关"),
    "valid_from": FieldSpec(date(), required=True, label="有效期起"),
    "valid_until": FieldSpec(date(), required=True, label="有效期至"),
}

PERMIT_LINE = {
    "waste": FieldSpec(waste_code_or_category, required=True, label="废物代码或类别"),
    "annual_capacity_tonnes": FieldSpec(tonnes, required=True, label="年经营规模(吨)"),
    "methods": FieldSpec(code_list(method), label="利用处置方式"),
}

ORGANIZATION_ROLE_FIELDS = Organization.ROLE_FIELDS


def check_dates(values: dict, start: str, end: str) -> list[dict]:
    if values.get(start) and values.get(end) and values[end] < values[start]:
        return [{"field": end, "message": _("ends before it starts")}]
    return []
