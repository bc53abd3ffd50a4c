"""WSGI entry point (HTTP only; Warroom's pages need the ASGI app for WebSockets)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
