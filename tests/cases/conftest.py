import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import BANAN, KAIZHOU

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def banan_regulator(regulator_of):
    return regulator_of(BANAN)


@pytest.fixture
def kaizhou_regulator(regulator_of):
    return regulator_of(KAIZHOU)


@pytest.fixture
def districts(banan_regulator, kaizhou_regulator):
    """Regulators in Banan and Kaizhou make both districts choosable on the public form."""
    return (BANAN, KAIZHOU)


def form_data(**overrides):
    data = {"kind": "illegal_dumping", "region": BANAN, "place": "巴南区某路口桥下",
            "description": "夜间有车辆在桥下倾倒桶装废液，气味刺鼻。", "longitude": "106.540000",
            "latitude": "29.400000", "organization_named": "某化工公司", "contact_name": "张三",
            "contact_phone": "13800138000", "consent": "on", "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def submit(districts):
    """Post the public form (anonymous) and return the response."""
    def post(client=None, files=(), **overrides):
        client = client or Client(HTTP_ACCEPT_LANGUAGE="en")
        data = form_data(**overrides)
        if files:
            data["photos"] = list(files)
        return client.post("/cases/report/", data)

    return post


@pytest.fixture
def filed(districts):
    """A report filed through the service: (report, secret)."""
    from wufei.cases import services

    def make(region=BANAN, **overrides):
        values = {"kind": "complaint", "region": region, "place": "某小区门口",
                  "description": "工地渣土随意堆放在人行道上。", "consent": True}
        values.update(overrides)
        return services.submit_report(**values)

    return make
