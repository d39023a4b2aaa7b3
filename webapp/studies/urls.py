"""Study pages: list and presets, new study, one study (live), cancel, and the comparison page."""

from django.urls import path

from webapp import converters  # noqa: F401  (registers <id:…>)
from webapp.studies import views

urlpatterns = [
    path("studies/", views.study_list, name="study-list"),
    path("studies/new/", views.study_new, name="study-new"),
    path("studies/presets/<slug:name>/", views.study_preset_start, name="study-preset"),
    path("studies/<id:study_id>/", views.study_detail, name="study-detail"),
    path("studies/<id:study_id>/cancel/", views.study_cancel_view, name="study-cancel"),
    path("compare/", views.compare, name="compare"),
]
