from ninja import Schema


class CategoryOut(Schema):
    code: str
    number: int
    name: str
    code_count: int | None = None


class HazardousWasteOut(Schema):
    code: str
    category: str
    category_name: str
    industry_source: str
    description: str
    hazards: list[str]
    hazard_notation: str
    edition: str

    @staticmethod
    def resolve_category(obj):
        return obj.category_id

    @staticmethod
    def resolve_category_name(obj):
        return obj.category.name

    @staticmethod
    def resolve_hazards(obj):
        return obj.hazard_list


class ExemptionOut(Schema):
    seq: int
    category_or_code: str
    waste_name: str
    exempt_stage: str
    exempt_condition: str
    exempt_content: str


class GeneralSolidWasteOut(Schema):
    code: str
    name: str
    description: str
    verified: bool
    source: str


class TreatmentMethodOut(Schema):
    code: str
    kind: str
    name_zh: str
    name_en: str
    confidence: str
    note: str


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None
    status: str

    @staticmethod
    def resolve_parent(obj):
        return obj.parent_id


class RegionDetailOut(RegionOut):
    ancestors: list[RegionOut]
    children: list[RegionOut]


class ZoneOut(Schema):
    code: str
    name: str
    kind: str
    region: str
    region_name: str
    description: str

    @staticmethod
    def resolve_region(obj):
        return obj.region_id

    @staticmethod
    def resolve_region_name(obj):
        return obj.region.name


class ZoneIn(Schema):
    code: str
    name: str
    kind: str
    region: str
    description: str = ""


class Page(Schema):
    count: int
    items: list
