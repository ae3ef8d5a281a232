"""The annual evaluation report of a plan: .xlsx (one sheet per level-1 group, the formulas' inputs
visible) and HTML / PDF with server-drawn SVG charts (no JavaScript needed in the PDF)."""

from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from wufei.core import spreadsheets
from wufei.core.scope import Scope
from wufei.indicators import services

STATUS_COLOURS = {"achieved": "2e7d32", "on_track": "66bb6a", "at_risk": "f9a825", "not_achieved": "c62828",
                  "no_data": "9e9e9e", "to_judge": "5c6bc0"}


def status_labels() -> dict[str, str]:
    return {"achieved": _("achieved"), "on_track": _("on track"), "at_risk": _("at risk"),
            "not_achieved": _("not achieved"), "no_data": _("no data"), "to_judge": _("to be judged")}


def trend_labels() -> dict[str, str]:
    return {"improving": _("improving"), "worsening": _("worsening"), "stable": _("stable"), "": ""}


def _sheet_title(text: str, used: set[str]) -> str:
    title = "".join(ch for ch in text if ch not in "[]:*?/\\")[:28] or "sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:25]}-{n}"
        n += 1
    used.add(title)
    return title


def export_xlsx(*, scope: Scope, plan_id: int, year: int) -> bytes:
    plan = services.get_plan(scope, plan_id)
    results = services.evaluate_plan(scope=scope, plan_id=plan_id, year=year)
    labels = status_labels()
    book = Workbook()
    summary = book.active
    summary.title = _sheet_title(_("Summary"), set())
    used = {summary.title}
    summary.append([plan.name])
    summary.append([_("Region"), f"{plan.region.code} {plan.region.name}", _("Year"), year])
    summary.append([])
    summary.append([_("Status"), _("Indicators")])
    for status, count in services.status_counts(results).items():
        summary.append([labels[status], count])
    summary["A1"].font = Font(bold=True, size=14)
    headers = [_("No."), _("Indicator"), _("Level 2"), _("Mark"), _("Unit"), _("Baseline as printed"),
               _("Baseline"), _("Target"), _("Target year"), _("Value"), _("Numerator"), _("Denominator"),
               _("Formula"), _("Inputs"), _("Status"), _("Trend")]
    groups: dict[str, list] = {}
    for result in results:
        groups.setdefault(result.row.level1 or result.indicator.level1, []).append(result)
    for level1, rows in groups.items():
        sheet = book.create_sheet(_sheet_title(level1, used))
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for result in rows:
            data = result.as_dict()
            formula = services.formulas.describe(data["formula"]["numerator"], data["formula"]["denominator"],
                                                 result.indicator.scale)
            inputs = "; ".join(f"{i['key']}{'' if i['when'] == 'year' else '@' + i['when']}({i['year']})="
                               f"{i['value'] if i['value'] is not None else '—'} {i['unit']} [{i['source']}]"
                               for i in data["inputs"])
            sheet.append([
                result.row.number, result.row.name, result.row.level2, result.row.mark, result.row.unit,
                result.row.baseline_text, _number(result.baseline), data["target"], data["target_year"],
                _number(services.formulas.rounded(result.value, result.indicator.decimals)) if result.value
                is not None else (result.state or None),
                _number(result.numerator), _number(result.denominator), formula, inputs, labels[result.status],
                trend_labels()[result.trend]])
            status_cell = sheet.cell(row=sheet.max_row, column=15)
            status_cell.fill = PatternFill("solid", fgColor=STATUS_COLOURS[result.status])
            status_cell.font = Font(color="ffffff")
        for column, width in zip("ABCDEFGHIJKLMNOP", (5, 36, 18, 5, 8, 18, 10, 18, 8, 12, 14, 14, 40, 60, 10, 10),
                                 strict=True):
            sheet.column_dimensions[column].width = width
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    return spreadsheets.workbook_bytes(book)


def _number(value):
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def bars(results) -> list[dict]:
    """Horizontal bars for rate indicators (%): value and target on a 0–100 scale, for the SVG chart."""
    out = []
    for result in results:
        if result.indicator.unit != "%" or result.value is None:
            continue
        expression = result.target.expression if result.target else None
        target = Decimal(expression["value"]) if expression and "value" in expression else None
        value = services.formulas.rounded(result.value, result.indicator.decimals)
        out.append({"label": f"{result.row.number}. {result.row.name}"[:30], "value": value,
                    "width": max(Decimal(0), min(Decimal(100), value)) * 3,
                    "target_x": None if target is None else 250 + min(Decimal(100), target) * 3,
                    "colour": "#" + STATUS_COLOURS[result.status]})
    for position, bar in enumerate(out):
        bar["y"] = 10 + position * 22
    return out


def context(*, scope: Scope, plan_id: int, year: int) -> dict:
    plan = services.get_plan(scope, plan_id)
    results = services.evaluate_plan(scope=scope, plan_id=plan_id, year=year)
    labels = status_labels()
    counts = services.status_counts(results)
    chart = bars(results)
    return {
        "plan": plan, "year": year, "results": results, "labels": labels, "trends": trend_labels(),
        "counts": [(labels[k], v, "#" + STATUS_COLOURS[k]) for k, v in counts.items()], "bars": chart,
        "chart_height": 20 + 22 * len(chart), "colours": {k: "#" + v for k, v in STATUS_COLOURS.items()},
        "index": services.compute_index(values=services.Values(region=plan.region), year=year,
                                        baseline_year=plan.baseline_year),
    }


def render_html(*, scope: Scope, plan_id: int, year: int) -> str:
    return render_to_string("indicators/report.html", context(scope=scope, plan_id=plan_id, year=year))


def render_pdf(*, scope: Scope, plan_id: int, year: int) -> bytes:
    return html_to_pdf(render_html(scope=scope, plan_id=plan_id, year=year))


def html_to_pdf(html: str) -> bytes:
    """The report's HTML laid out as PDF (nothing fetched but data: URLs)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
