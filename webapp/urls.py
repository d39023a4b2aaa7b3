"""URL map: pages, the versioned API, its schema and docs."""

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

docs_csp = csp_update({"style-src": ["'unsafe-inline'"]})

urlpatterns = [
    path("", include("webapp.pages_urls")),
    path("api/v1/", include("webapp.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the page needs no inline script (CSP).
    # Swagger UI and Redoc set style attributes in their markup: allow inline styles there, never scripts.
    path("api/docs/", docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("api/redoc/", docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("admin/", admin.site.urls),
]
