from django.contrib import admin
from django.urls import include, path

from wufei.alerts.api import router as alerts_router
from wufei.analytics.api import router as analytics_router
from wufei.cases.api import router as cases_router
from wufei.catalog.api import router as catalog_router
from wufei.core.api import api
from wufei.core.jobs_api import router as jobs_router
from wufei.indicators.api import router as indicators_router
from wufei.ledgers.api import router as ledgers_router
from wufei.manifests.api import router as manifests_router
from wufei.manifests.crossprovince_api import router as crossprovince_router
from wufei.manifests.webhooks_api import router as webhooks_router
from wufei.programme.api import router as programme_router
from wufei.registry.api import router as registry_router
from wufei.tracking.api import router as tracking_router
from wufei.tracking.views import scan_page

api.add_router("/catalog", catalog_router)
api.add_router("", registry_router)
api.add_router("", tracking_router)
api.add_router("", ledgers_router)
api.add_router("", manifests_router)
api.add_router("", crossprovince_router)
api.add_router("", webhooks_router)
api.add_router("", programme_router)
api.add_router("", indicators_router)
api.add_router("", alerts_router)
api.add_router("", cases_router)
api.add_router("", analytics_router)
api.add_router("", jobs_router)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("catalog/", include("wufei.catalog.urls")),
    path("registry/", include("wufei.registry.urls")),
    path("tracking/", include("wufei.tracking.urls")),
    path("t/<str:code>/", scan_page, name="scan_page"),  # the short address printed in QR codes
    path("ledgers/", include("wufei.ledgers.urls")),
    path("manifests/", include("wufei.manifests.urls")),
    path("programme/", include("wufei.programme.urls")),
    path("indicators/", include("wufei.indicators.urls")),
    path("alerts/", include("wufei.alerts.urls")),
    path("cases/", include("wufei.cases.urls")),
    path("cockpit/", include("wufei.analytics.urls")),
    path("portal/", include("wufei.web.portal_urls")),
    path("", include("wufei.web.urls")),
]

handler500 = "wufei.web.views.server_error"
