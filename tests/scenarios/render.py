"""Render the scenario stories (the module docstrings of tests/scenarios/test_*.py) as docs/scenarios/*.md.

    python -m tests.scenarios.render          write the pages (and the index)
    python -m tests.scenarios.render --check  exit 1 if a page is missing or differs (tests/scenarios/test_docs.py)

Each page is the module's docstring, then the behaviours its tests check (each test's name and docstring), so a
regulator or an integrator reads how the platform behaves, and CI proves it still does.
"""

import ast
import sys
from pathlib import Path

HERE = Path(__file__).parent
DOCS = HERE.parent.parent / "docs" / "scenarios"
HEADER = "<!-- generated from {source} by `python -m tests.scenarios.render`; edit the docstrings -->\n\n"


def stories() -> list[Path]:
    return sorted(p for p in HERE.glob("test_*.py") if p.name != "test_docs.py")


def page(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    text = HEADER.format(source=f"tests/scenarios/{path.name}") + (ast.get_docstring(tree) or "").strip() + "\n"
    checks = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    if checks:
        text += "\n## What the test checks\n\n"
        for node in checks:
            doc = (ast.get_docstring(node) or "").strip()
            name = node.name.removeprefix("test_").replace("_", " ")
            text += f"- **{name[:1].upper()}{name[1:]}**" + (f": {' '.join(doc.split())}" if doc else "") + "\n"
    return text


def index() -> str:
    lines = ["# Scenarios", "", "Stories of the platform at work, driven through the public API as each party; each is",
             "also a test (tests/scenarios/), so what is written here is what the platform does today.", ""]
    for path in stories():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        title = ((ast.get_docstring(tree) or path.stem).strip().splitlines() or [path.stem])[0].lstrip("# ").strip()
        lines.append(f"- [{title}]({path.stem.removeprefix('test_')}.md)")
    return "\n".join(lines) + "\n"


def expected() -> dict[Path, str]:
    out = {DOCS / f"{p.stem.removeprefix('test_')}.md": page(p) for p in stories()}
    out[DOCS / "README.md"] = index()
    return out


def main(argv: list[str]) -> int:
    pages = expected()
    if "--check" in argv:
        stale = [str(path) for path, text in pages.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        stale += [str(p) for p in DOCS.glob("*.md") if p not in pages]
        if stale:
            print("scenario pages out of date (run python -m tests.scenarios.render):", *stale, sep="\n  ")
            return 1
        return 0
    DOCS.mkdir(parents=True, exist_ok=True)
    for path in DOCS.glob("*.md"):
        if path not in pages:
            path.unlink()
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
