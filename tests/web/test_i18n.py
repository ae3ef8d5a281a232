"""The Simplified Chinese catalog (wufei/locale/zh_Hans): complete, consistent, and what users see by default.

The .mo is not committed (bin/setup compiles it); this module compiles it when it is missing or
older than the .po, before any test runs, so a fresh checkout passes too.
"""

import ast
import contextlib
import fcntl
import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from asgiref.local import Local
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext, trans_real

from wufei.registry.models import SupervisionClass

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO_PATH = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")


def _ensure_compiled() -> None:
    """Compile the catalog if its .mo is missing or stale, then make Django read it again.

    Under a lock, fast path included: xdist workers import this module at the same time, and
    one must not read a .mo another is still writing.
    """
    lock_name = f"wufei-compilemessages-{hashlib.sha256(str(LOCALE_DIR).encode()).hexdigest()[:12]}.lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime:
            # compilemessages also walks the working directory for locale folders: run it from
            # inside ours so that it compiles nothing else (e.g. Django's own catalogs in .venv).
            with contextlib.chdir(LOCALE_DIR):
                call_command("compilemessages", locale=["zh_Hans"], verbosity=0)
    # Catalogs may already be cached from before the .mo existed (Django loads them while
    # setting up): forget them, as Django itself does when LOCALE_PATHS change.
    trans_real._translations = {}
    trans_real._active = Local()
    trans_real._default = None
    trans_real.translation_catalog_exists.cache_clear()


_ensure_compiled()


# --- a small .po reader -------------------------------------------------------------------------

@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def __str__(self):
        return f"django.po:{self.line} {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file, the header (msgid "") first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish():
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if target is not None and target[0].startswith("msgstr"):
                finish()  # a comment after msgstr starts the next entry even without a blank line
            if line.startswith("#,"):
                entry = entry or Entry(line=number)
                entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            if keyword in ("msgctxt", "msgid") and target is not None and target[0].startswith("msgstr"):
                finish()
            entry = entry or Entry(line=number)
            if keyword == "msgid":
                entry.line = number
            target = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else (keyword, None)
            value = ast.literal_eval(literal)
        elif line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
        else:
            raise AssertionError(f"django.po:{number}: cannot read {raw!r}")
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
        else:
            setattr(entry, name, (getattr(entry, name) or "") + value)
    finish()
    return entries


ENTRIES = read_po(PO_PATH)
HEADER = ENTRIES[0]
MESSAGES = ENTRIES[1:]

# Python-format placeholders as Django writes them (blocktranslate turns {{ var }} into %(var)s).
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff]")  # ideographs, or CJK punctuation such as 、


def placeholders(text: str) -> list[str]:
    return sorted(p for p in _PLACEHOLDER.findall(text) if p != "%%")


# --- (a) the catalog is complete and nothing is fuzzy -------------------------------------------

def test_catalog_was_read():
    assert HEADER.msgid == "" and len(MESSAGES) > 300
    assert len({(e.msgctxt, e.msgid) for e in MESSAGES}) == len(MESSAGES), "a msgid appears twice"


def test_header_declares_simplified_chinese_with_one_plural_form():
    header = HEADER.msgstr[0]
    assert "Language: zh_Hans\n" in header
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header
    assert "charset=UTF-8" in header
    assert "fuzzy" not in HEADER.flags


def _translation_problems(entry) -> list[str]:
    problems = ["fuzzy"] if "fuzzy" in entry.flags else []
    if sorted(entry.msgstr) != [0]:  # nplurals=1: a plural message has exactly msgstr[0]
        problems.append(f"plural forms {sorted(entry.msgstr)}")
    for text in entry.msgstr.values():
        if not text.strip():
            problems.append("empty msgstr")
        elif not _CJK.search(text):
            problems.append(f"msgstr {text!r} has no Chinese in it")
    return problems


def _placeholder_problems(entry) -> list[str]:
    wanted = placeholders(entry.msgid)
    if entry.msgid_plural is not None:  # the one Chinese form stands for the plural
        if not set(wanted) <= set(placeholders(entry.msgid_plural)):
            return [f"msgid_plural drops {wanted}"]
        wanted = placeholders(entry.msgid_plural)
    return [f"msgstr {text!r} has {placeholders(text)}, not {wanted}"
            for text in entry.msgstr.values() if placeholders(text) != wanted]  # each as many times


def _report(check) -> str:
    return "\n".join(f"django.po:{entry.line} {entry.msgid!r}: {problem}"
                      for entry in MESSAGES for problem in check(entry))


def test_every_message_is_translated_into_chinese_and_not_fuzzy():
    assert not _report(_translation_problems)


# --- (b) placeholders survive translation -------------------------------------------------------

def test_placeholders_are_kept():
    assert not _report(_placeholder_problems)


def test_placeholder_reader():
    assert placeholders("%(counter)s rows, %(n)d errors, 100%% sure, %s") == ["%(counter)s", "%(n)d", "%s"]


def test_compiled_catalog_is_current():
    assert MO_PATH.exists()
    assert MO_PATH.stat().st_mtime >= PO_PATH.stat().st_mtime


# --- (c) pages are Chinese by default, English on request ---------------------------------------

@pytest.mark.django_db
def test_home_page_is_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    for chinese in ("基础名录", "登录", "数据接口", "无废城市固体废物监管平台", "浏览基础名录"):
        assert chinese in page
    for english in ("Catalogs", "Log in", "Browse the catalogs", "Skip to content"):
        assert english not in page


@pytest.mark.django_db
def test_catalog_index_is_chinese_by_default(client):
    page = client.get("/catalog/").content.decode()
    for chinese in ("危险废物名录", "废物类别", "豁免管理清单", "利用处置方式", "一般固体废物代码",
                    "行政区划", "园区与特殊区域", "名录代码 467 个"):
        assert chinese in page
    for english in ("Hazardous wastes", "Treatment methods", "Exemptions", "codes of the national list"):
        assert english not in page


@pytest.mark.django_db
def test_pages_are_english_when_the_browser_asks_for_it(client):
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in home
    assert "Catalogs" in home and "Log in" in home
    assert "基础名录" not in home
    catalog = client.get("/catalog/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Hazardous wastes" in catalog and "467 codes of the national list" in catalog
    assert "危险废物名录" not in catalog


@pytest.mark.django_db
def test_organization_list_shows_chinese_labels(make_org, regulator_of, client_for):
    make_org(name="重庆某化工有限公司", annual_hazardous_waste_tonnes=100)
    page = client_for(regulator_of()).get("/registry/organizations/").content.decode()
    for chinese in ("单位档案", "统一社会信用代码", "监管类别", "产废单位", "重点监管", "共 1 家单位"):
        assert chinese in page


# --- (d) labels from Python code ----------------------------------------------------------------

def test_supervision_classes_use_the_official_terms():
    with translation.override("zh-hans"):
        assert gettext("key supervision") == "重点监管"
        assert str(SupervisionClass.KEY.label) == "重点监管"
        assert str(SupervisionClass.SIMPLIFIED.label) == "简化管理"
        assert str(SupervisionClass.REGISTERED.label) == "登记管理"
    with translation.override("en"):
        assert str(SupervisionClass.KEY.label) == "key supervision"


def test_hazard_characteristics_use_the_official_terms():
    from wufei.catalog.models import HAZARD_CHARACTERISTICS

    with translation.override("zh-hans"):
        assert {key: str(label) for key, label in HAZARD_CHARACTERISTICS.items()} == {
            "T": "毒性", "C": "腐蚀性", "I": "易燃性", "R": "反应性", "In": "感染性"}
