"""/api/v1/ routes."""

from rest_framework.routers import DefaultRouter

from webapp.jobs.api import JobViewSet, WorkloadViewSet
from webapp.teams.api import TeamViewSet

router = DefaultRouter()
router.register("workloads", WorkloadViewSet, basename="api-workload")
router.register("jobs", JobViewSet, basename="api-job")
router.register("teams", TeamViewSet, basename="api-team")

urlpatterns = router.urls
