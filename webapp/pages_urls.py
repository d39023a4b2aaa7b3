"""The server-rendered pages; they work without JavaScript."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp import converters  # noqa: F401  (registers <id:…>)
from webapp.accounts import views as accounts
from webapp.jobs import views as jobs
from webapp.teams import views as teams
from webapp.workers import views as workers

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", accounts.profile, name="profile"),
    path("profile/tokens/", accounts.token_create_view, name="token-create"),
    path("profile/tokens/<id:token_id>/revoke/", accounts.token_revoke_view, name="token-revoke"),
    path("", jobs.dashboard, name="dashboard"),
    path("jobs/", jobs.job_history, name="job-history"),
    path("jobs/new/", jobs.job_submit_page, name="job-submit"),
    path("jobs/<id:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<id:job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("jobs/<id:job_id>/artifacts/<str:name>", jobs.job_artifact, name="job-artifact"),
    path("", include("webapp.studies.urls")),
    path("teams/", teams.team_list, name="team-list"),
    path("teams/<slug:slug>/", teams.team_detail, name="team-detail"),
    path("teams/<slug:slug>/members/", teams.team_member_set, name="team-member-set"),
    path("workers/", workers.worker_list, name="worker-list"),
]
