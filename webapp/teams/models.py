"""Teams and who belongs to them, with what role."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"  # manages members and tokens
    MEMBER = "member", "Member"  # submits jobs
    VIEWER = "viewer", "Viewer"  # reads only


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    # The team's Slurm defaults ("partition", "account", "qos", "constraint"), over the deployment's
    # PARALAB_SLURM_* settings: webapp/jobs/slurm.py; set with `manage.py team_slurm`.
    slurm = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    @property
    def can_submit(self) -> bool:
        return self.role in (Role.OWNER, Role.MEMBER)

    @property
    def can_manage(self) -> bool:
        return self.role == Role.OWNER


class Invitation(models.Model):
    """A way into a team: a link, mailed to an address or handed over by the owner, good for one person.

    Like API tokens, the link's secret is stored only as a digest (webapp/accounts/services.py): the
    owner sees the link once, when it is made; a leaked table opens no team.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)  # blank: an open link, for whoever the owner gives it to
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation to {self.team} as {self.role} ({self.email or 'link'})"

    @property
    def state(self) -> str:
        """pending, used, revoked or expired (for the team page)."""
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "pending"
