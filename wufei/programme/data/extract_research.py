"""Regenerate the shipped CSVs of this folder from the research extraction (a maintainer's tool, not imported).

    .venv/bin/python wufei/programme/data/extract_research.py /work/shared/research/seeds_001_004.md

Reads Appendix A (Banan 附件2, 90 rows), Appendix B (Kaizhou 附件2, 107 rows), §3.3 / §3.4 (附件3 key
projects) and §1.1 / §1.2 (indicator names, to link tasks to indicators). Cells are copied verbatim
except for the research file's own annotations, which are turned back into what the plan prints:
"↑" (merged cell) and "(blank in source)" become an empty cell, "*(blank)*" an empty investment,
"13700 (see note)" the printed 13700; the annotations themselves go to the `note` column.
"""

import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rows_of(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def section_lines(lines: list[str], start: str, end: str | None) -> list[str]:
    begin = next(i for i, line in enumerate(lines) if line.startswith(start))
    stop = next((i for i, line in enumerate(lines) if end and line.startswith(end) and i > begin), len(lines))
    return lines[begin + 1:stop]


TASK_NOTES = {
    ("banan", 6): "lead and responsible cells each printed over two lines in the source (research §3.1)",
    ("banan", 86): "the responsible cell carries a Word bookmark artefact ([bookmark: _GoBack]) in the source",
    ("kaizhou", 53): "区乡村振兴局 is printed twice in the cooperating cell",
    ("kaizhou", 65): "task-name cell blank in the source (rows 65–69); the body text (K L175) calls the task "
                     "推进建筑垃圾源头减量",
    ("kaizhou", 99): "listed under (七) in the table; the body text puts it under (八)",
}
INFERRED_NAMES = {("kaizhou", 65): "推进建筑垃圾源头减量"}


def tasks(lines: list[str], plan: str) -> list[dict]:
    result, section = [], ""
    for line in lines:
        if line.startswith("**（"):
            section = line.strip().strip("*").strip()
            continue
        if not re.match(r"^\| \d+ \|", line):
            continue
        number, name, content, lead, cooperating, deadline = rows_of(line)
        blank_name = name in ("↑", "(blank in source)")
        result.append({
            "plan": plan, "section": section, "number": int(number),
            "name": "" if blank_name else name, "inferred_name": INFERRED_NAMES.get((plan, int(number)), ""),
            "content": content, "lead": lead, "responsible": cooperating,
            "deadline": "" if deadline == "(blank)" else deadline,
            "note": TASK_NOTES.get((plan, int(number)), "deadline cell blank in the source"
                                   if deadline == "(blank)" else ""),
        })
    return result


PROJECT_NOTES = {
    ("banan", 8): "category printed on this row as 生活固体废物领域; it appears shifted one row in the source",
    ("banan", 10): "content does not match the name; 70% of villages conflicts with the 50% target elsewhere "
                   "(task 35, indicator 9)",
    ("banan", 11): "name cell blank in the source (merged with 10); 5300 printed again and counted again in "
                   "the printed total 15900",
    ("banan", 12): "category printed on this row as 危险废物管理; it appears shifted one row in the source",
    ("kaizhou", 14): "13700 printed once for the merged investment cell of 14–16 (the printed total counts it "
                     "once)",
    ("kaizhou", 15): "investment cell blank: merged with 14",
    ("kaizhou", 16): "investment cell blank: merged with 14",
}
MERGE_GROUPS = {("banan", 10): "B10-11", ("banan", 11): "B10-11", ("kaizhou", 14): "K14-16",
                ("kaizhou", 15): "K14-16", ("kaizhou", 16): "K14-16"}


def banan_projects(lines: list[str]) -> list[dict]:
    result, category = [], ""
    for line in lines:
        if not re.match(r"^\| \d+ \|", line):
            continue
        number, printed_category, name, content, investment, period, units = rows_of(line)
        if not printed_category.startswith("("):
            category = printed_category.split(" [?")[0].strip()
        number = int(number)
        result.append({
            "plan": "banan", "group": "", "category": category, "number": number,
            "name": "" if name.startswith("*(") else name, "content": content.split(" [?")[0].strip(),
            "investment": investment, "period": period, "units": units,
            "merge_group": MERGE_GROUPS.get(("banan", number), ""), "note": PROJECT_NOTES.get(("banan", number), ""),
        })
    return result


def kaizhou_projects(lines: list[str]) -> list[dict]:
    result, group, category = [], "", ""
    for line in lines:
        heading = re.match(r"^\| \| \*\*(.+?)\*\*", line)
        if heading:
            text = heading.group(1)
            if "合计" in text:
                continue
            if " — " in text:
                group, category = text.split(" — ")
            elif text.startswith("（"):
                category = text
            else:
                group, category = text, ""
            continue
        if not re.match(r"^\| \d+ \|", line):
            continue
        number, name, content, period, investment, units = rows_of(line)
        number = int(number)
        investment = "" if investment.startswith("*(") else investment.split(" (")[0]
        result.append({
            "plan": "kaizhou", "group": group, "category": category, "number": number, "name": name,
            "content": content, "investment": investment, "period": period, "units": units,
            "merge_group": MERGE_GROUPS.get(("kaizhou", number), ""),
            "note": PROJECT_NOTES.get(("kaizhou", number), ""),
        })
    return result


def indicators(lines: list[str], plan: str) -> list[dict]:
    result = []
    for line in lines:
        if re.match(r"^\| \d+ \|", line):
            cells = rows_of(line)
            result.append({"plan": plan, "number": int(cells[0]), "name": cells[3]})
    return result


def write(name: str, rows: list[dict]) -> None:
    with open(HERE / name, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{name}: {len(rows)} rows")


def main(path: str) -> None:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    write("tasks.csv", tasks(section_lines(lines, "### Appendix A", "### Appendix B"), "banan")
          + tasks(section_lines(lines, "### Appendix B", None), "kaizhou"))
    write("projects.csv", banan_projects(section_lines(lines, "### 3.3", "### 3.4"))
          + kaizhou_projects(section_lines(lines, "### 3.4", "## 4.")))
    write("indicators.csv", indicators(section_lines(lines, "### 1.1", "**B level-2"), "banan")
          + indicators(section_lines(lines, "### 1.2", "**K level-2"), "kaizhou"))


if __name__ == "__main__":
    main(sys.argv[1])
