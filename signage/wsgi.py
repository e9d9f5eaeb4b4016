import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")
django_application = get_wsgi_application()

# Players' idle heartbeats and 304s are answered before Django's request cycle (apps/devices/lean.py, named
# by settings.WSGI_WRAPPER as MIDDLEWARE names the apps' middleware: signage/ imports no app); everything
# else, and whatever the lean path declines, goes to Django unchanged.
application = import_string(settings.WSGI_WRAPPER)(django_application)
