"""Paralab's Django settings, all from the environment (12-factor), safe defaults for `make run`.

With DEBUG off (the default) the site refuses to start without a real SECRET_KEY and turns on
HTTPS-only cookies, HSTS and SSL redirects, so `manage.py check --deploy` is clean.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    return env(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(env(name, str(default)))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 40+ characters when DEBUG is off")
    SECRET_KEY = "django-insecure-dev-only-" + "x" * 40

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "webapp.accounts",
    "webapp.teams",
    "webapp.jobs",
    "webapp.studies",
    "webapp.notifications",
]

MIDDLEWARE = [
    "webapp.client_address.ForwardedClientAddressMiddleware",  # first: all below see the client, not the proxy
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "webapp.busy.DatabaseBusyMiddleware",  # a pool timeout on a page: 503, not 500
    "webapp.busy.DatabaseBusyMiddleware",  # a pool timeout on a page: 503, not 500
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a username/address after repeated failures
    "django.contrib.auth.backends.ModelBackend",
]
# How many reverse proxies of our own stand in front of daphne (docs/deploy.md): the client's address is
# then read from X-Forwarded-For as the outermost of them wrote it (webapp/client_address.py). 0: direct.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 (no proxy) or the number of proxies in front")
AXES_CLIENT_IP_CALLABLE = "webapp.client_address.client_ip"
# Failures count per client address, whatever usernames it tries, so one password sprayed over many
# accounts is stopped too, and nobody elsewhere can lock a user out. axes compares a single limit with
# the largest count among its parameter sets, so adding ["username", "ip_address"] would change nothing.
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
# Per address (an office behind one NAT shares it), hence more than the usual 5 per account.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = 0.25  # hours
# Failures age out with the cool-off instead: with an address-wide count, a success would let whoever
# has one account of their own wipe the address's record between rounds of guessing at others.
AXES_RESET_ON_SUCCESS = False
# Password-reset mails (webapp/accounts/reset_limit.py): how many one client address, and one e-mail
# address, may have sent per window; more get a page that says when to ask again (429).
PARALAB_RESET_PER_CLIENT = envint("PARALAB_RESET_PER_CLIENT", 10)
PARALAB_RESET_PER_ADDRESS = envint("PARALAB_RESET_PER_ADDRESS", 3)
PARALAB_RESET_WINDOW = envint("PARALAB_RESET_WINDOW", 3600)  # seconds

# Everything is served from our own origin: scripts, styles, images, WebSockets. No inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# No persistent connections: under ASGI each request runs its sync code in a thread of its own, and
# with CONN_MAX_AGE > 0 every such thread kept a connection until PostgreSQL refused clients ("too
# many clients already"). A connection is taken for a request (or task) and handed back at its end.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the worker write concurrently; wait for the lock instead of failing.
    # IMMEDIATE also takes the write lock at the start of each transaction, which makes a limit's
    # count and the insert that follows it atomic (webapp/jobs/services.py).
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django's psycopg 3 pool, one per process: at most PARALAB_DB_POOL_MAX connections however many
    # threads ask; a thread that waits PARALAB_DB_POOL_TIMEOUT seconds for one gets PoolTimeout (the
    # API answers 503). Budget against max_connections (100 by default, 3 kept for superusers): the
    # compose stack's web + 3 workers take at most 4 × 10 = 40; a worker with `-P threads
    # --concurrency C` uses at most 2·C + 1 at once (each task, its job's watcher, the sweeper).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": envint("PARALAB_DB_POOL_MIN", 1),
        "max_size": envint("PARALAB_DB_POOL_MAX", 10),
        "timeout": float(env("PARALAB_DB_POOL_TIMEOUT", "10")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The history's covering index INCLUDEs columns on PostgreSQL; SQLite (the embedded default) builds
# it on the key columns alone, which is all it needs, so its W040 warning is noise.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# People join through a team owner's invitation; anyone may make an account only if this is on.
PARALAB_OPEN_SIGNUP = envbool("PARALAB_OPEN_SIGNUP", False)
PARALAB_INVITATION_DAYS = envint("PARALAB_INVITATION_DAYS", 7)

# E-mail (invitations, password resets, job notifications): printed to the console for `make run`
# (DEBUG), sent over SMTP otherwise; tests get Django's in-memory outbox.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)  # seconds; a mail server that hangs must not hold a request or task
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Paralab <paralab@localhost>")
# Where the site is, for links in e-mails and webhook payloads (e.g. https://paralab.example.org).
PARALAB_SITE_URL = env("PARALAB_SITE_URL")

# Team webhooks (webapp/notifications): each POST times out after PARALAB_WEBHOOK_TIMEOUT s; a failed one
# is tried again after BACKOFF, 4×BACKOFF, 16×BACKOFF… seconds, PARALAB_WEBHOOK_ATTEMPTS tries in all.
# Private, loopback and link-local addresses are refused unless allowed (a receiver on your own LAN).
PARALAB_WEBHOOK_TIMEOUT = float(env("PARALAB_WEBHOOK_TIMEOUT", "5"))
PARALAB_WEBHOOK_ATTEMPTS = envint("PARALAB_WEBHOOK_ATTEMPTS", 5)
PARALAB_WEBHOOK_BACKOFF = float(env("PARALAB_WEBHOOK_BACKOFF", "10"))
PARALAB_WEBHOOK_ALLOW_PRIVATE = envbool("PARALAB_WEBHOOK_ALLOW_PRIVATE", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "webapp" / "static",
    # Front-end packages come from the npm registry at install time (package.json, `npm ci`).
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # tests and `make run` serve assets without collectstatic

DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # a job request is a few hundred bytes
# Any request body over this is refused with 413 before it is stored (webapp/body_limit.py, in front of
# Django). No page or endpoint takes a file; the largest bodies are forms and JSON well under this.
PARALAB_MAX_BODY = envint("PARALAB_MAX_BODY", 1024 * 1024)
if PARALAB_MAX_BODY < DATA_UPLOAD_MAX_MEMORY_SIZE:
    raise ImproperlyConfigured("PARALAB_MAX_BODY must be at least DATA_UPLOAD_MAX_MEMORY_SIZE (256 KB)")

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")

# Celery: Redis broker; the job row in the database is the only result store.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env("PARALAB_QUEUE", "paralab")

# Limits on what one job may ask for.
PARALAB_MAX_WORKERS = envint("PARALAB_MAX_WORKERS", 8)
PARALAB_MAX_RUNTIME = envint("PARALAB_MAX_RUNTIME", 900)  # seconds; the engine kills the job after this
PARALAB_TEAM_MAX_ACTIVE = envint("PARALAB_TEAM_MAX_ACTIVE", 100)  # queued + running jobs per team
PARALAB_SUBMIT_RATE = envint("PARALAB_SUBMIT_RATE", 60)  # submissions per user per minute (studies excepted)
# A running job whose worker has not written a heartbeat for this long is "worker lost".
PARALAB_WORKER_LOST_AFTER = envint("PARALAB_WORKER_LOST_AFTER", 30)
PARALAB_LOST_JOB_ACTION = env("PARALAB_LOST_JOB_ACTION", "fail")  # or "requeue" (once)
# A queued job not claimed this long after its message was sent gets the message again.
PARALAB_REDISPATCH_AFTER = envint("PARALAB_REDISPATCH_AFTER", 300)
# A study's repetition whose run was disturbed (kernels/measurement.py) is queued once more by the sweeper.
PARALAB_RERUN_DISTURBED = envbool("PARALAB_RERUN_DISTURBED", True)

# Slurm (docs/deploy.md, "Attaching Paralab to an existing Slurm cluster"): with PARALAB_SLURM on, the
# worker submits jobs of these backends with sbatch instead of running them on its own host. Partition,
# account, QoS and constraint are the deployment's defaults (empty: the cluster's); a team's own
# (Team.slurm) win. Job output is read from PARALAB_SLURM_WORKDIR, which the compute nodes must share.
PARALAB_SLURM = envbool("PARALAB_SLURM", False)
PARALAB_SLURM_BACKENDS = envlist("PARALAB_SLURM_BACKENDS", "mpi")
PARALAB_SLURM_PARTITION = env("PARALAB_SLURM_PARTITION")
PARALAB_SLURM_ACCOUNT = env("PARALAB_SLURM_ACCOUNT")
PARALAB_SLURM_QOS = env("PARALAB_SLURM_QOS")
PARALAB_SLURM_CONSTRAINT = env("PARALAB_SLURM_CONSTRAINT")
PARALAB_SLURM_WORKDIR = Path(env("PARALAB_SLURM_WORKDIR", str(BASE_DIR / "var" / "slurm")))
# No Celery soft or hard time limit: the threads pool every worker runs (-P threads, docs/architecture.md)
# does not enforce them, so they promised a deadline nothing kept. The deadline is the engine's: it kills
# the job's whole process group after the job's time_limit, at most PARALAB_MAX_RUNTIME.
# A task not acked within the visibility timeout is redelivered: keep it well above the longest run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(3600, 2 * (PARALAB_MAX_RUNTIME + 60))}

# Each socket's receive blocks in BZPOPMIN for 5 s (channels_redis RedisChannelLayer.brpop_timeout); redis-py 8's
# default 5 s socket timeout cut that read short and closed every idle WebSocket with 1011 (channels_redis#422).
# The host dict's keys go to redis.asyncio's ConnectionPool.from_url; keepalive finds a dead peer in between.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15
CHANNEL_LAYER_MAX_CONNECTIONS = envint("CHANNEL_LAYER_MAX_CONNECTIONS", 1024)
CHANNEL_LAYER_HOST = {
    "address": REDIS_URL,
    "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
    "socket_keepalive": True,
    # After Redis restarts, the pooled connections are dead and redis-py (no retries by default) failed the
    # first command on each: a socket opened then was closed in its connect, an event published then lost.
    # A command that fails to connect is tried again on a new connection, for about a second.
    "retry": AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 4),
    "retry_on_error": [RedisConnectionError],
    # redis-py's async pool allows 100 connections: hundreds of viewers leaving at once
    # (each group_discard takes one) failed with MaxConnectionsError and stayed in the group.
    "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS,
}
# The events layer (LIVE_EVENTS_LAYER) carries the live events of jobs and team feeds: Redis pub/sub, so a
# publish is one PUBLISH however many watch, and each web process's relay (webapp/jobs/relay.py) is its one
# subscriber per group. At most once, as events always were: a client that sees a gap in the sequence
# numbers asks for the state. The default layer carries each socket's own channel (the access notices).
LIVE_EVENTS_LAYER = "events"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "webapp.channel_layer.RedisChannelLayer",  # channels_redis's, with a receive a cancel ends
        "CONFIG": {
            "hosts": [CHANNEL_LAYER_HOST],
            "capacity": 1000,
            "expiry": 30,
            # The prefix keeps two deployments (or two test runs) on one Redis out of each other's groups.
            "prefix": f"{CELERY_TASK_DEFAULT_QUEUE}:asgi",
        },
    },
    LIVE_EVENTS_LAYER: {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [CHANNEL_LAYER_HOST], "prefix": f"{CELERY_TASK_DEFAULT_QUEUE}:events:"},
    },
}
# An open WebSocket hears at once when its access may be gone (webapp/accounts/revocation.py); it also
# checks again this often, for changes that send no word (an expired session, an UPDATE by hand).
PARALAB_LIVE_RECHECK_SECONDS = envint("PARALAB_LIVE_RECHECK_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: no endpoint takes a form or a file, and a form field decoded by a serializer's
    # JSONField would bypass the parser's nesting bound (a RecursionError, 500).
    "DEFAULT_PARSER_CLASSES": ["webapp.parsers.NestingLimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "webapp.pagination.JobPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "webapp.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Paralab API",
    "DESCRIPTION": "Submit parallel workloads, follow them and read their results.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # A Redis outage said once a minute, not with a traceback per retry and per live socket it closed.
    "filters": {"redis_outage": {"()": "webapp.redis_outage.RedisOutage"}},
    "loggers": {name: {"filters": ["redis_outage"]} for name in ("channels_redis.pubsub", "daphne.server")},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
