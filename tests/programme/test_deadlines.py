"""Deadline cells (完成时限 / 完成年限): every one the two plans print is read, or listed as not readable."""

import csv
import datetime as dt
from collections import Counter

import pytest

from wufei.programme import imports, plan_text
from wufei.programme.plan_text import parse_deadline


def printed_deadlines() -> list[tuple[str, str, str]]:
    """(plan, where, text) for every deadline cell of both task lists and both project tables."""
    cells = []
    with open(imports.DATA / "tasks.csv", encoding="utf-8") as handle:
        cells += [(row["plan"], f"task {row['number']}", row["deadline"]) for row in csv.DictReader(handle)]
    with open(imports.DATA / "projects.csv", encoding="utf-8") as handle:
        cells += [(row["plan"], f"project {row['number']}", row["period"]) for row in csv.DictReader(handle)]
    return cells


# the cells neither a due date nor a stated reason can be read from: none in these two plans
UNREADABLE = []
# the cells with no due date, and why
NO_DUE_DATE = {("banan", "task 66"): "blank", ("banan", "task 85"): "blank"}


def test_every_printed_deadline_is_read_or_listed():
    cells = printed_deadlines()
    assert len(cells) == 90 + 107 + 15 + 28
    unreadable, undated = [], {}
    for plan, where, text in cells:
        deadline = parse_deadline(text)
        assert deadline.kind in plan_text.DEADLINE_KINDS
        if deadline.kind == plan_text.UNPARSED:
            unreadable.append((plan, where, text))
        elif deadline.due is None:
            assert deadline.reason, f"{plan} {where}: {text!r} has no due date and no reason"
            undated[(plan, where)] = deadline.reason
        else:
            assert deadline.due.year in range(2021, 2026), (plan, where, text)
    assert unreadable == UNREADABLE
    assert undated == NO_DUE_DATE


def test_the_printed_deadlines_by_kind():
    kinds = Counter((plan, where.split()[0], parse_deadline(text).kind) for plan, where, text in printed_deadlines())
    assert kinds == {
        ("banan", "task", "year"): 87, ("banan", "task", "range"): 1, ("banan", "task", "none"): 2,
        ("kaizhou", "task", "year"): 107,
        ("banan", "project", "year"): 15, ("kaizhou", "project", "range"): 28,
    }
    texts = Counter(text for plan, _where, text in printed_deadlines() if plan == "banan" and _where.startswith("task"))
    assert texts == {"2025年": 80, "2022年": 6, "2023年": 1, "2022年-2025年": 1, "": 2}  # research §3.1


@pytest.mark.parametrize(("text", "kind", "start", "due", "reason"), [
    ("2025年", "year", None, "2025-12-31", ""),
    ("2025", "year", None, "2025-12-31", ""),
    (2025, "year", None, "2025-12-31", ""),
    ("２０２３年", "year", None, "2023-12-31", ""),
    ("2025年底", "year", None, "2025-12-31", ""),
    ("2025年底前", "year", None, "2025-12-31", ""),
    ("到2025年", "year", None, "2025-12-31", ""),
    ("2025年前", "year", None, "2025-12-31", "before_year"),
    ("2022年-2025年", "range", "2022-01-01", "2025-12-31", ""),
    ("2021—2024", "range", "2021-01-01", "2024-12-31", ""),
    ("2021-2025年", "range", "2021-01-01", "2025-12-31", ""),
    ("2021～2025年", "range", "2021-01-01", "2025-12-31", ""),
    ("2023至2025年", "range", "2023-01-01", "2025-12-31", ""),
    ("2022年6月", "month", None, "2022-06-30", ""),
    ("2024年2月底", "month", None, "2024-02-29", ""),
    ("2022年6月30日", "date", None, "2022-06-30", ""),
    ("2022-06-30", "date", None, "2022-06-30", ""),
    ("长期", "ongoing", None, None, "ongoing"),
    ("持续推进", "ongoing", None, None, "ongoing"),
    ("长期坚持", "ongoing", None, None, "ongoing"),
    ("常态化", "ongoing", None, None, "ongoing"),
    ("每年", "ongoing", None, None, "recurring"),
    ("", "none", None, None, "blank"),
    (None, "none", None, None, "blank"),
    ("  ", "none", None, None, "blank"),
    ("/", "none", None, None, "not_applicable"),
    ("—", "none", None, None, "not_applicable"),
    ("——", "none", None, None, "not_applicable"),
    ("2025-2021", "unparsed", None, None, "range_reversed"),
    ("明年", "unparsed", None, None, "not_understood"),
    ("2022年13月", "unparsed", None, None, "not_understood"),
    ("2022年2月30日", "unparsed", None, None, "not_understood"),
    ("1850年", "unparsed", None, None, "not_understood"),
    ("尽快", "unparsed", None, None, "not_understood"),
])
def test_deadline_formats(text, kind, start, due, reason):
    deadline = parse_deadline(text)
    assert (deadline.kind, deadline.start, deadline.due, deadline.reason) == (
        kind, dt.date.fromisoformat(start) if start else None, dt.date.fromisoformat(due) if due else None, reason)
    assert deadline.kind_label and (not deadline.reason or deadline.reason_label)


def test_overdue_is_past_the_due_date_and_never_for_standing_tasks():
    today = dt.date(2026, 1, 1)
    assert parse_deadline("2025年").is_overdue(today)
    assert not parse_deadline("2025年").is_overdue(dt.date(2025, 12, 31))  # due that day, not past it
    assert not parse_deadline("2026年").is_overdue(today)
    assert parse_deadline("2021—2024").is_overdue(today)
    assert not parse_deadline("2022年-2026年").is_overdue(today)
    for text in ("长期", "持续推进", "", "/", "尽快"):
        assert not parse_deadline(text).is_overdue(today)


def test_an_import_refuses_a_deadline_it_cannot_read():
    from wufei.core.parsing import clean

    values, errors = clean(imports.TASK_FIELDS, {"number": "1", "content": "x", "lead": "区生态环境局",
                                                  "deadline": "尽快"})
    assert [e["field"] for e in errors] == ["deadline"]
    values, errors = clean(imports.TASK_FIELDS, {"number": "1", "content": "x", "lead": "区生态环境局",
                                                  "deadline": "长期"})
    assert not errors and values["deadline"].kind == "ongoing"
