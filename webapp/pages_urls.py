"""The server-rendered pages; they work without JavaScript."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp import converters  # noqa: F401  (registers <id:…>)
from webapp.accounts import views as accounts
from webapp.jobs import views as jobs
from webapp.notifications import views as notifications
from webapp.search import views as search
from webapp.teams import views as teams
from webapp.workers import views as workers

urlpatterns = [
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    # Django's own password reset: a mailed one-time link (templates/registration/password_reset_*), as many
    # a window as PARALAB_RESET_PER_CLIENT and PARALAB_RESET_PER_ADDRESS allow.
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitations/<str:secret>/", teams.invitation_page, name="invitation-accept"),
    path("profile/", accounts.profile, name="profile"),
    path("profile/tokens/", accounts.token_create_view, name="token-create"),
    path("profile/notifications/", notifications.job_email_view, name="job-email-set"),
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
    path("teams/<slug:slug>/invitations/", teams.team_invite, name="team-invite"),
    path(
        "teams/<slug:slug>/invitations/<id:invitation_id>/revoke/",
        teams.team_invitation_revoke,
        name="team-invitation-revoke",
    ),
    path("teams/<slug:slug>/webhooks/", notifications.webhook_add, name="webhook-add"),
    path("teams/<slug:slug>/webhooks/<id:webhook_id>/delete/", notifications.webhook_remove, name="webhook-remove"),
    path("teams/<slug:slug>/webhooks/<id:webhook_id>/test/", notifications.webhook_test, name="webhook-test"),
    path("workers/", workers.worker_list, name="worker-list"),
    path("search/logs/", search.log_search_page, name="log-search"),
]
