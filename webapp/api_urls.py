"""/api/v1/ routes."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from webapp.jobs.api import JobViewSet, WorkloadViewSet
from webapp.studies.api import StudyViewSet
from webapp.teams.api import TeamViewSet
from webapp.workers.api import WorkerStatusView

router = DefaultRouter()
router.register("workloads", WorkloadViewSet, basename="api-workload")
router.register("jobs", JobViewSet, basename="api-job")
router.register("teams", TeamViewSet, basename="api-team")
router.register("studies", StudyViewSet, basename="api-study")

urlpatterns = router.urls + [
    path("", include("webapp.studies.api_urls")),
    path("workers/", WorkerStatusView.as_view(), name="api-worker-list"),
]
