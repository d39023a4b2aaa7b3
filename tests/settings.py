"""Settings for the test suite: the real settings, with the environment a test run needs.

The environment is set before webapp.settings reads it: a throw-away key, debug mode (no HTTPS
redirects for the test client), a Redis database of the suite's own, and a Celery queue no
other worker listens to. Worker processes started by the fixtures inherit the same values.
"""

import os
import uuid

os.environ.setdefault("SECRET_KEY", "test-" + uuid.uuid4().hex * 2)
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("PARALAB_QUEUE", f"paralab-test-{uuid.uuid4().hex[:8]}")
os.environ.setdefault("MEDIA_ROOT", f"/tmp/paralab-test-media-{os.getpid()}")

from webapp.settings import *  # noqa: E402,F403
from webapp.settings import BASE_DIR, DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    (BASE_DIR / "build").mkdir(exist_ok=True)
    # A file, not :memory:, so the Celery worker process sees the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "build" / f"test-{os.environ['PARALAB_QUEUE']}.sqlite3")}

if os.environ.get("PARALAB_TEST_DB_NAME"):
    # Set by the worker fixture: the worker process must use the database pytest-django created.
    DATABASES["default"]["NAME"] = os.environ["PARALAB_TEST_DB_NAME"]

# Hashing test passwords with 1M PBKDF2 rounds would cost ~0.5 s per user; tests need no secrecy.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Login lockout is tested on its own (tests/webapp/test_security.py); other tests log in freely.
AXES_ENABLED = False
