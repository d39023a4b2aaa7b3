"""ASGI entry point: HTTP through Django; WebSockets are added by the live-dashboard routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
application = get_asgi_application()
