"""Read the shipped national lists from data/*.csv and write them into the catalog tables.

Used by the data migration (with historical models) and by `wufei catalog sync`
(which upserts, so a newer edition of a list can be loaded into a running platform).
"""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def rows(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def category_rows() -> list[dict]:
    seen: dict[str, dict] = {}
    for row in rows("hazardous_waste_list.csv"):
        seen.setdefault(row["category_code"], {
            "code": row["category_code"], "number": int(row["category_code"][2:]), "name": row["category_name"],
        })
    return list(seen.values())


def hazardous_waste_rows() -> list[dict]:
    return [
        {
            "code": row["waste_code"], "category_id": row["category_code"], "industry_source": row["industry_source"],
            "description": row["description"], "hazards": row["hazard"], "hazard_notation": row["hazard_notation"],
            "edition": row["edition"],
        }
        for row in rows("hazardous_waste_list.csv")
    ]


def exemption_rows() -> list[dict]:
    return [
        {
            "edition": row["edition"], "seq": int(row["seq"]), "category_or_code": row["category_or_code"],
            "waste_name": row["waste_name"], "exempt_stage": row["exempt_stage"],
            "exempt_condition": row["exempt_condition"], "exempt_content": row["exempt_content"],
        }
        for row in rows("hazardous_waste_exemptions.csv")
    ]


def general_solid_waste_rows() -> list[dict]:
    return [
        {"code": r["code"], "name": r["name"], "description": r["description"], "source": r["source"],
         "verified": r["verified"] == "yes"}
        for r in rows("general_solid_waste_codes.csv")
    ]


def treatment_method_rows() -> list[dict]:
    return [
        {"code": r["code"], "kind": r["kind"], "name_zh": r["name_zh"], "name_en": r["name_en"],
         "confidence": r["confidence"], "note": r["note"]}
        for r in rows("treatment_methods.csv")
    ]


def region_rows() -> list[dict]:
    """Current divisions plus abolished ones (so historical records still resolve), with paths."""
    current = [{**r, "status": "current"} for r in rows("regions.csv")]
    abolished = [
        {k: r[k] for k in ("code", "name", "level", "parent_code", "status", "note")}
        for r in rows("regions_abolished.csv")
    ]
    by_code = {r["code"]: r for r in current + abolished}

    def path(code: str) -> str:
        parent = by_code[code]["parent_code"]
        return (path(parent) if parent else "/") + code + "/"

    return [
        {"code": r["code"], "name": r["name"], "level": r["level"], "parent_id": r["parent_code"] or None,
         "path": path(r["code"]), "status": r["status"], "note": r["note"]}
        for r in sorted(by_code.values(), key=lambda r: (r["level"] != "province", r["level"] == "district", r["code"]))
    ]


def load(apps=None) -> dict[str, int]:
    """Upsert every shipped list; returns row counts per table."""
    from django.apps import apps as live_apps

    registry = apps or live_apps

    def model(name):
        return registry.get_model("catalog", name)

    counts = {}
    for name, data, key in (
        ("HazardousWasteCategory", category_rows(), "code"),
        ("HazardousWaste", hazardous_waste_rows(), "code"),
        ("GeneralSolidWasteCode", general_solid_waste_rows(), "code"),
        ("TreatmentMethod", treatment_method_rows(), "code"),
        ("Region", region_rows(), "code"),
    ):
        counts[name] = _upsert(model(name), data, key)
    Exemption = model("HazardousWasteExemption")
    Exemption.objects.all().delete()
    Exemption.objects.bulk_create([Exemption(**row) for row in exemption_rows()])
    counts["HazardousWasteExemption"] = Exemption.objects.count()
    return counts


def _upsert(model, data: list[dict], key: str) -> int:
    existing = set(model.objects.values_list(key, flat=True))
    new = [model(**row) for row in data if row[key] not in existing]
    # Regions reference their parents: insert in the order given (provinces first).
    model.objects.bulk_create(new, batch_size=500)
    changed_fields = [f for f in data[0] if f != key] if data else []
    updates = [model(**row) for row in data if row[key] in existing]
    if updates and changed_fields:
        model.objects.bulk_update(updates, changed_fields, batch_size=500)
    return model.objects.count()
