"""docs/scenarios/ shows exactly the stories the scenario tests tell (python -m tests.scenarios.render)."""

from tests.scenarios import render


def test_the_scenario_pages_are_current():
    pages = render.expected()
    stale = [str(path) for path, text in pages.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not stale, "run `python -m tests.scenarios.render` and commit docs/scenarios/: " + ", ".join(stale)
