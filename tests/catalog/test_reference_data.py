"""The loaded catalog against the national reference lists (see shared/reference/REPORT.md)."""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from wufei.catalog import reference
from wufei.catalog.models import (
    HAZARD_CHARACTERISTICS,
    GeneralSolidWasteCode,
    HazardousWaste,
    HazardousWasteCategory,
    HazardousWasteExemption,
    Region,
    TreatmentMethod,
)

pytestmark = pytest.mark.django_db

# Per-category counts published in REPORT.md §1 (sum 467).
CATEGORY_COUNTS = {
    "HW01": 5, "HW02": 20, "HW03": 1, "HW04": 13, "HW05": 7, "HW06": 6, "HW07": 6, "HW08": 32, "HW09": 3,
    "HW10": 4, "HW11": 85, "HW12": 20, "HW13": 8, "HW14": 1, "HW15": 4, "HW16": 8, "HW17": 21, "HW18": 4,
    "HW19": 1, "HW20": 1, "HW21": 13, "HW22": 4, "HW23": 4, "HW24": 1, "HW25": 1, "HW26": 1, "HW27": 2,
    "HW28": 1, "HW29": 22, "HW30": 1, "HW31": 6, "HW32": 1, "HW33": 5, "HW34": 19, "HW35": 12, "HW36": 9,
    "HW37": 4, "HW38": 7, "HW39": 2, "HW40": 1, "HW45": 8, "HW46": 3, "HW47": 2, "HW48": 33, "HW49": 11,
    "HW50": 44,
}

# Hazard distribution published in REPORT.md §1.
HAZARD_DISTRIBUTION = {
    "T": 364, "T,I": 29, "C,T": 27, "T,R": 16, "T,C": 6, "T,C,I,R": 4, "T,I,R": 4, "R,T": 4, "In": 3, "C": 3,
    "T,In": 2, "T,I,C": 1, "C,R": 1, "R": 1, "R,C": 1, "T,C,I,R,In": 1,
}

COPIED_FILES = (
    "hazardous_waste_list.csv",
    "hazardous_waste_exemptions.csv",
    "treatment_methods.csv",
    "general_solid_waste_codes.csv",
    "regions.csv",
)


def _repo_root() -> Path:
    for directory in Path(__file__).resolve().parents:
        if (directory / "pyproject.toml").exists():
            return directory
    raise AssertionError("no pyproject.toml above the tests")


REFERENCE_DIR = _repo_root().parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(not REFERENCE_DIR.is_dir(), reason=f"{REFERENCE_DIR} is not there")


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- hazardous waste list ----------------------------------------------------------------

def test_467_codes_in_46_categories():
    assert HazardousWaste.objects.count() == 467
    assert HazardousWaste.objects.values("code").distinct().count() == 467
    expected = [f"HW{n:02d}" for n in [*range(1, 41), *range(45, 51)]]
    assert list(HazardousWasteCategory.objects.values_list("code", flat=True)) == expected
    assert not HazardousWasteCategory.objects.filter(code__in=["HW41", "HW42", "HW43", "HW44"]).exists()
    for category in HazardousWasteCategory.objects.all():
        assert category.number == int(category.code[2:])


def test_per_category_counts_match_the_report():
    assert sum(CATEGORY_COUNTS.values()) == 467
    counts = Counter(HazardousWaste.objects.values_list("category_id", flat=True))
    assert dict(counts) == CATEGORY_COUNTS


def test_every_code_has_the_official_format_and_its_category_number():
    pattern = re.compile(r"^\d{3}-\d{3}-\d{2}$")
    for code, category in HazardousWaste.objects.values_list("code", "category_id"):
        assert pattern.match(code), code
        assert code[-2:] == category[2:], (code, category)


def test_hazards_come_only_from_the_five_characteristics():
    assert set(HAZARD_CHARACTERISTICS) == {"T", "C", "I", "R", "In"}
    for waste in HazardousWaste.objects.all():
        assert waste.hazard_list, waste.code
        assert set(waste.hazard_list) <= set(HAZARD_CHARACTERISTICS), waste.code
        notation_parts = [p for p in re.split(r"[/,，]", waste.hazard_notation) if p]
        assert sorted(notation_parts) == sorted(waste.hazard_list), waste.code
    assert dict(Counter(HazardousWaste.objects.values_list("hazards", flat=True))) == HAZARD_DISTRIBUTION


def test_a_known_code_is_loaded_verbatim():
    waste = HazardousWaste.objects.get(code="841-004-01")
    assert waste.category_id == "HW01"
    assert waste.hazard_list == ["T", "C", "I", "R"]
    assert waste.hazard_notation == "T/C/I/R"
    assert waste.edition == "2021"


def test_exemption_list_has_57_rows_covering_items_1_to_32():
    assert HazardousWasteExemption.objects.count() == 57
    seqs = set(HazardousWasteExemption.objects.values_list("seq", flat=True))
    assert seqs == set(range(1, 33))
    codes = set(HazardousWaste.objects.values_list("code", flat=True))
    categories = set(HazardousWasteCategory.objects.values_list("code", flat=True))
    for exemption in HazardousWasteExemption.objects.all():
        for code in exemption.codes:
            if re.match(r"^\d{3}-\d{3}-\d{2}$", code):
                assert code in codes, (exemption.seq, code)
            elif re.match(r"^HW\d{2}$", code):
                assert code in categories, (exemption.seq, code)


# --- treatment methods, general solid waste ----------------------------------------------

def test_27_treatment_methods_with_kinds():
    assert TreatmentMethod.objects.count() == 27
    kinds = Counter(TreatmentMethod.objects.values_list("kind", flat=True))
    assert set(kinds) <= set(TreatmentMethod.Kind.values)
    assert kinds == {"utilization": 12, "disposal": 10, "other": 5}
    assert TreatmentMethod.objects.get(code="C1").kind == "disposal"
    assert TreatmentMethod.objects.get(code="C2").kind == "utilization"
    single = set(TreatmentMethod.objects.filter(confidence="single_source").values_list("code", flat=True))
    assert single == {"G21", "G22", "G23", "G24", "G29"}


def test_12_general_solid_waste_rows_with_an_honest_verified_flag():
    assert GeneralSolidWasteCode.objects.count() == 12
    verified = set(GeneralSolidWasteCode.objects.filter(verified=True).values_list("code", flat=True))
    assert verified == {"S01-S59", "S60-S69", "S70-S79", "S80-S89", "S90-S99"}
    unverified = set(GeneralSolidWasteCode.objects.filter(verified=False).values_list("code", flat=True))
    assert unverified == {f"SW0{n}" for n in range(1, 8)}


# --- regions -----------------------------------------------------------------------------

def test_region_counts_by_level_and_status():
    current = Region.objects.filter(status="current")
    assert current.filter(level="province").count() == 33
    assert current.filter(level="city").count() == 333
    assert current.filter(level="district").count() == 2847
    assert current.count() == 3213
    abolished = Region.objects.filter(status="abolished")
    assert set(abolished.values_list("code", flat=True)) == {"500105", "500112"}
    assert Region.objects.count() == 3215


def test_every_region_hangs_from_an_existing_parent_with_a_consistent_path():
    regions = Region.objects.in_bulk()
    for region in regions.values():
        if region.level == "province":
            assert region.parent_id is None, region.code
            assert region.path == f"/{region.code}/"
            continue
        assert region.parent_id in regions, region.code
        parent = regions[region.parent_id]
        assert region.path == f"{parent.path}{region.code}/", region.code
        assert parent.level != "district", region.code


def test_chongqing_after_the_2025_change():
    children = Region.objects.filter(parent_id="500000", status="current")
    assert children.count() == 37
    assert children.filter(code="500157", name="两江新区").exists()
    assert Region.objects.get(code="500113").name == "巴南区"
    assert Region.objects.get(code="500113").path == "/500000/500113/"
    assert not Region.objects.filter(code__in=["500100", "500200"]).exists()


def test_the_loader_is_idempotent():
    before = {name: count for name, count in reference.load().items()}
    assert before == reference.load()
    assert before["HazardousWaste"] == 467
    assert before["HazardousWasteExemption"] == 57
    assert before["Region"] == 3215


# --- shipped copies against the reference files ------------------------------------------

@needs_reference
@pytest.mark.parametrize("name", COPIED_FILES)
def test_shipped_copy_is_byte_identical_to_the_reference(name):
    assert (reference.DATA_DIR / name).read_bytes() == (REFERENCE_DIR / name).read_bytes(), name


@needs_reference
def test_abolished_regions_are_those_of_the_reference_sample():
    ours = _read(reference.DATA_DIR / "regions_abolished.csv")
    sample = [row for row in _read(REFERENCE_DIR / "regions_sample.csv") if row["status"] == "abolished"]
    assert ours == sample
    assert {row["code"] for row in ours} == {"500105", "500112"}


@needs_reference
def test_sample_regions_agree_with_the_national_list():
    national = {row["code"]: row for row in _read(REFERENCE_DIR / "regions.csv")}
    for row in _read(REFERENCE_DIR / "regions_sample.csv"):
        if row["status"] == "current":
            assert row["code"] in national, row["code"]
            assert national[row["code"]]["name"] == row["name"], row["code"]
            assert national[row["code"]]["parent_code"] == row["parent_code"], row["code"]


def test_shipped_files_are_the_ones_the_loader_reads():
    shipped = {path.name for path in reference.DATA_DIR.glob("*.csv")}
    assert shipped == {*COPIED_FILES, "regions_abolished.csv"}
