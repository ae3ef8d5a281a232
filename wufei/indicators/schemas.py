"""django-ninja schemas of the indicators API."""

import datetime as dt

from ninja import Schema

from wufei.core.inputs import Id, RecordDate, Year


class IndicatorOut(Schema):
    code: str
    name: str
    name_en: str
    level1: str
    level2: str
    mark: str
    unit: str
    direction: str
    kind: str
    numerator: str
    denominator: str
    scale: str
    decimals: int
    definition: str

    @staticmethod
    def resolve_scale(obj):
        return str(obj.scale.normalize())


class QuantityOut(Schema):
    key: str
    name: str
    unit: str
    source: str
    description: str


class TargetOut(Schema):
    year: int
    text: str
    expression: dict | None


class RowOut(Schema):
    id: int
    number: int
    indicator: str
    name: str
    level1: str
    level2: str
    unit: str
    mark: str
    baseline_text: str
    baseline_value: str | None
    baseline_year: int | None
    responsible: str
    targets: list[TargetOut]


class IndicatorPlanOut(Schema):
    id: int
    key: str
    name: str
    region: str
    baseline_year: int
    target_years: list[int]
    source: str


class IndicatorPlanDetailOut(IndicatorPlanOut):
    rows: list[RowOut]


class RequestIn(Schema):
    region: str
    department_id: Id
    year: Year
    keys: list[str]
    due_date: RecordDate
    note: str = ""


class ValueIn(Schema):
    key: str
    value: str | None = None
    unit: str = ""
    state: str = ""
    evidence: str = ""


class ValueOut(Schema):
    id: int
    key: str
    value: str | None
    state: str
    entered_value: str
    entered_unit: str
    evidence: str
    status: str


class RequestOut(Schema):
    id: int
    region: str
    department_id: int
    department: str
    year: int
    keys: list[str]
    due_date: dt.date
    status: str
    note: str
    review_comment: str
    version: int
    values: list[ValueOut]


class RequestVersionIn(Schema):
    version: int | None = None


class RequestReviewIn(Schema):
    approve: bool
    comment: str = ""
    version: int | None = None


class JudgementIn(Schema):
    row_id: Id
    year: Year
    status: str
    note: str = ""


class FormulaIn(Schema):
    numerator: str
    denominator: str = ""
    version: int | None = None


class IndicatorEvidenceOut(Schema):
    id: int
    name: str
    size: int
    sha256: str
