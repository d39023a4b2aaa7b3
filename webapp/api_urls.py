"""/api/v1/ routes."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from webapp.jobs.api import JobViewSet, WorkloadViewSet
from webapp.search.views import LogSearchView
from webapp.studies.api import StudyViewSet
from webapp.teams.api import TeamViewSet
from webapp.workers.api import WorkerStatusView

# No format-suffix routes (``jobs.json``, ``cancel.json``): the API speaks JSON, chosen by the Accept
# header or ``?format=``. DRF's suffix routes pass a ``format`` argument that custom actions and plain
# viewset methods do not take, so every one of them was a 500; without them such paths are a clean 404.
router = DefaultRouter()
router.include_format_suffixes = False  # a class attribute in DRF 3.18, not a constructor argument
router.register("workloads", WorkloadViewSet, basename="api-workload")
router.register("jobs", JobViewSet, basename="api-job")
router.register("teams", TeamViewSet, basename="api-team")
router.register("studies", StudyViewSet, basename="api-study")

urlpatterns = router.urls + [
    path("", include("webapp.studies.api_urls")),
    path("workers/", WorkerStatusView.as_view(), name="api-worker-list"),
    path("search/logs/", LogSearchView.as_view(), name="api-log-search"),
]
