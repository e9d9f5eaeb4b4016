import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")
django_application = get_wsgi_application()

# Players' idle heartbeats and 304s are answered before Django's request cycle (apps/devices/lean.py);
# everything else, and whatever the lean path declines, goes to Django unchanged.
from apps.devices.lean import LeanDeviceWSGI  # noqa: E402  (after Django's setup)

application = LeanDeviceWSGI(django_application)
