"""The catalog formulas of the industrial hazardous waste indicators read the industrial quantities (ihw_*:
medical waste HW01 and non-industrial sources excluded) instead of all hazardous waste (hw_*); see
wufei/indicators/quantities.py. Only rows that still carry the shipped formula change (data/catalog.csv is
reloaded by `load_catalog` as well; this reaches databases where it is not run)."""

from django.db import migrations

# code → ((old numerator, old denominator), (new numerator, new denominator), new definition)
CHANGES = {
    "hw_intensity": (("hw_generated", "industrial_value_added"), ("ihw_generated", "industrial_value_added"),
                     "Industrial hazardous waste generated (t) ÷ industrial value added (万元); medical waste (HW01) "
                     "and non-industrial sources excluded"),
    "isw_intensity": (("gisw_generated + hw_generated", "industrial_value_added"),
                      ("gisw_generated + ihw_generated", "industrial_value_added"), None),
    "hw_utilization": (("hw_utilized", "hw_generated + hw_prior_stock_utilized"),
                       ("ihw_utilized", "ihw_generated + hw_prior_stock_utilized"),
                       "Industrial hazardous waste utilized ÷ (generated + prior years' stock utilized) × 100 %"),
    "hw_landfill_decline": (("base(hw_landfilled) - hw_landfilled", "base(hw_landfilled)"),
                            ("base(ihw_landfilled) - ihw_landfilled", "base(ihw_landfilled)"),
                            "(Baseline year's industrial hazardous waste landfilled − this year's) ÷ baseline year's "
                            "× 100 %"),
    "hw_safe_disposal": (("hw_utilized + hw_disposed", "hw_generated + hw_opening_stock"),
                         ("ihw_utilized + ihw_disposed", "ihw_generated + ihw_opening_stock"),
                         "Industrial hazardous waste utilized or disposed ÷ (generated + opening stock) × 100 %"),
}


def forward(apps, schema_editor, reverse=False):
    Indicator = apps.get_model("indicators", "Indicator")
    for code, (old, new, definition) in CHANGES.items():
        before, after = (new, old) if reverse else (old, new)
        row = Indicator.objects.filter(code=code, numerator=before[0], denominator=before[1]).first()
        if row is None:
            continue
        row.numerator, row.denominator = after
        if definition and not reverse:
            row.definition = definition
        row.save(update_fields=["numerator", "denominator", "definition"])


def backward(apps, schema_editor):
    forward(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [("indicators", "0002_evidence_files")]
    operations = [migrations.RunPython(forward, backward)]
