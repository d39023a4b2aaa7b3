"""ASGI entry point: HTTP through Django, WebSockets through Channels (session auth, origin check)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
django_asgi_app = get_asgi_application()  # before importing consumers: it sets Django up

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from webapp.body_limit import BodyLimitMiddleware, install_daphne_body_limit  # noqa: E402
from webapp.routing import websocket_urlpatterns  # noqa: E402

# daphne, which imports this module before it serves, would otherwise take in a whole body before any
# limit applies; the middleware applies the same limit under any server.
install_daphne_body_limit(settings.PARALAB_MAX_BODY)

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app, limit=settings.PARALAB_MAX_BODY),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
