"""Regenerate banan.csv and kaizhou.csv from the research extraction (shared/research/seeds_001_004.md §1.1–1.2).

    python wufei/indicators/data/extract_research.py ../shared/research/seeds_001_004.md

The research tables add English glosses in parentheses and "[?]" marks to the verbatim cells; they are
removed here so that baselines and targets are kept exactly as the plans print them.
"""

import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
GLOSS = re.compile(r"\s+\((?=[^)]*[A-Za-z<>=])[^()]*(\([^()]*\)[^()]*)*\)\s*$")
COLUMNS = ["number", "level1", "level2", "name", "name_en", "unit", "baseline", "target_2025", "mark", "responsible"]


def verbatim(cell: str) -> str:
    cell = cell.strip().replace("**", "")
    if cell.startswith("*(") and cell.endswith(")*"):
        return ""
    cell = cell.replace(" [?]", "")
    while True:
        stripped = GLOSS.sub("", cell)
        if stripped == cell:
            return cell.strip()
        cell = stripped


def table(lines: list[str], heading: str) -> list[list[str]]:
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("### "):
            break
        if line.startswith("| ") and re.match(r"\| \d+ \|", line):
            rows.append([verbatim(cell) for cell in line.strip().strip("|").split(" | ")])
    return rows


def main(source: str) -> None:
    lines = Path(source).read_text(encoding="utf-8").splitlines()
    for name, heading in (("banan", "### 1.1"), ("kaizhou", "### 1.2")):
        rows = table(lines, heading)
        with open(HERE / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow(row)
        print(name, len(rows))


if __name__ == "__main__":
    main(sys.argv[1])
