"""Export the registry as .xlsx in the same layout the importer reads (round-trip safe)."""


from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from wufei.core import spreadsheets
from wufei.core.errors import ValidationFailed
from wufei.core.scope import Scope
from wufei.registry import imports, services

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _organization_rows(scope: Scope):
    for org in services.organizations_for(scope).order_by("pk"):
        yield {
            "uscc": org.uscc, "name": org.name, "region": org.region_id, "zone": org.zone.code if org.zone else "",
            "address": org.address, "longitude": org.longitude, "latitude": org.latitude,
            "industry_code": org.industry_code, "industry_name": org.industry_name,
            "legal_representative": org.legal_representative, "contact_name": org.contact_name,
            "contact_phone": org.contact_phone, "roles": ",".join(org.roles),
            "annual_hazardous_waste_tonnes": org.annual_hazardous_waste_tonnes,
        }


def _site_rows(scope: Scope):
    for site in services.sites_for(scope).order_by("pk"):
        yield {
            "organization": site.organization.uscc, "name": site.name, "kind": site.kind, "address": site.address,
            "longitude": site.longitude, "latitude": site.latitude,
            "storage_capacity_tonnes": site.storage_capacity_tonnes,
            "design_capacity_tonnes_per_year": site.design_capacity_tonnes_per_year,
            "capacity_note": site.capacity_note,
        }


def _vehicle_rows(scope: Scope):
    for vehicle in services.vehicles_for(scope).order_by("pk"):
        yield {
            "organization": vehicle.organization.uscc, "plate": vehicle.plate, "vehicle_type": vehicle.vehicle_type,
            "load_capacity_tonnes": vehicle.load_capacity_tonnes,
            "transport_permit_number": vehicle.transport_permit_number,
            "transport_permit_valid_until": vehicle.transport_permit_valid_until,
        }


def _permit_rows(scope: Scope):
    for permit in services.permits_for(scope).order_by("pk"):
        for line in permit.lines.all():
            yield {
                "organization": permit.organization.uscc, "number": permit.number, "kind": permit.kind,
                "issuing_authority": permit.issuing_authority, "valid_from": permit.valid_from,
                "valid_until": permit.valid_until, "waste": line.waste_id or line.category_id,
                "annual_capacity_tonnes": line.annual_capacity_tonnes,
                "methods": ";".join(m.code for m in line.methods.all()),
            }


ROWS = {
    "organizations": _organization_rows,
    "sites": _site_rows,
    "vehicles": _vehicle_rows,
    "permits": _permit_rows,
}


def export_xlsx(scope: Scope, kind: str) -> bytes:
    if kind not in ROWS:
        raise ValidationFailed(_("unknown export kind"), errors=[{"field": "kind", "message": kind}])
    spec = imports.SPECS[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind
    names = list(spec.fields)
    sheet.append([spec.fields[name].label or name for name in names])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in ROWS[kind](scope):
        sheet.append([_cell(row.get(name)) for name in names])
    for index, name in enumerate(names, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(
            12, len(spec.fields[name].label or name) * 2 + 2)
    return spreadsheets.workbook_bytes(workbook)


def _cell(value):
    if value is None:
        return None
    if hasattr(value, "as_tuple"):  # Decimal: Excel holds numbers as doubles
        return float(value)
    return value
