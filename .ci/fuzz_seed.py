"""Seeds the fuzzing database and prints a JWT of the demo fleet's admin (`.ci/fuzz`)."""

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
user = get_user_model().objects.get(username="demo")
print(AccessToken.for_user(user))
