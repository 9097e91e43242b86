"""WSGI entry point (gunicorn django_inhealth.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_inhealth.settings")

application = get_wsgi_application()
