"""The API's interactive documentation is served entirely from this site (no CDN)."""

import re
from urllib.parse import urlparse

from django.conf import settings


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_loads_its_assets_from_this_site(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = _references(html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert [a for a in assets if urlparse(a).netloc or a.startswith("//")] == []
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL)
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])
    policy = page.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    style_src = re.search(r"style-src ([^;]*)", policy).group(1).split()
    assert script_src == ["'self'"]
    assert [s for s in style_src if s not in ("'self'", "'unsafe-inline'")] == []
