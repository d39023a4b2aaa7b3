"""Settings for the test suite: the real settings, with the environment a test run needs.

The environment is set before webapp.settings reads it: a throw-away key, debug mode (no HTTPS
redirects for the test client), a Redis database of the suite's own, and a Celery queue no
other worker listens to. Worker processes started by the fixtures inherit the same values.
"""

import atexit
import os
import shutil
import tempfile
import uuid

from tests.services import TEST_REDIS_URL

os.environ.setdefault("SECRET_KEY", "test-" + uuid.uuid4().hex * 2)
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("REDIS_URL", TEST_REDIS_URL)  # scripts/test.sh points it at a Redis it started if none answers
os.environ.setdefault("PARALAB_QUEUE", f"paralab-test-{uuid.uuid4().hex[:8]}")
# A loaded test machine flags runs disturbed; studies in tests keep the jobs they were made with
# (the re-run is tested on its own: tests/webapp/studies/test_services.py).
os.environ.setdefault("PARALAB_RERUN_DISTURBED", "0")
if "MEDIA_ROOT" not in os.environ:
    # One folder per test run, shared with the processes it starts (they inherit the variable) and
    # removed when the run's own process exits: what the tests make, they clean up.
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="paralab-test-media-")
    atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], True)
# Webhook tests POST to receivers on 127.0.0.1 and go through retries in well under a second.
os.environ.setdefault("PARALAB_WEBHOOK_ALLOW_PRIVATE", "1")
os.environ.setdefault("PARALAB_WEBHOOK_BACKOFF", "0.2")

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
