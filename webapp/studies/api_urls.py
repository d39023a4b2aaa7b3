"""/api/v1/ routes of the studies app besides the study viewset: downloads and comparisons."""

from django.urls import path, re_path

from webapp.studies import api

urlpatterns = [
    re_path(r"^exports/jobs\.(?P<fmt>csv|json)$", api.JobExportView.as_view(), name="api-job-export"),
    re_path(
        r"^studies/(?P<pk>[0-9]+)/export\.(?P<fmt>csv|json)$", api.StudyExportView.as_view(), name="api-study-export"
    ),
    path("studies/<int:pk>/chart.svg", api.StudyChartView.as_view(), name="api-study-chart"),
    path("compare/", api.CompareView.as_view(), name="api-compare"),
]
