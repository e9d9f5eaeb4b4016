"""Benchmark of the management API's screen list far down a large fleet, against its own floor.

`GET screens/?limit=1000&offset=50000` on a fleet of 100,000 screens, through the whole Django stack in
process (test client, JWT), timed in the same run as its floor: the same SQL statements run from a cursor
plus `json.dumps` of the same page. The report gives the list's time as a multiple of that floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/management_lists.py [--screens 100000] [--repeat 5]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def fill(screens: int):
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Fleet, Membership, Role
    from apps.places.models import Place
    from apps.screens.models import Screen

    fleet = Fleet.objects.create(name="Bench fleet", max_screens=screens + 1)
    place = Place.objects.create(street_number="1", address="Rue de Rivoli", postalcode="75001", city="Paris")
    for start in range(0, screens, 10000):
        Screen.objects.bulk_create(
            Screen(fleet=fleet, place=place, name=f"Screen {i:06}", slug=f"bench-{i:06}", timezone="Europe/Paris")
            for i in range(start, min(screens, start + 10000))
        )
    user = get_user_model().objects.create_user(username="bench", password="bench-pass")
    Membership.objects.create(user=user, fleet=fleet, role=Role.ADMIN)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user


def timed(count, call) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    setup_test_environment()
    settings.SIGNAGE_RATE_LIMITS = [("*", ["*"], 10**9, 10**9)]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        user = fill(options.screens)
        print(f"filled {options.screens} screens in {time.perf_counter() - started:.0f} s")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"JWT {AccessToken.for_user(user)}")
        offset = min(50000, options.screens // 2)
        url = f"/api/management/v2/screens/?limit=1000&offset={offset}"

        def listing():
            response = client.get(url)
            assert response.status_code == 200, response.content[:200]
            return response

        listing()  # warm
        with CaptureQueriesContext(connection) as captured:
            body = json.loads(listing().content)
        statements = [query["sql"] for query in captured.captured_queries]

        def floor():
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()
            json.dumps(body)

        rows = []
        for _ in range(2):  # interleaved, twice: the machine is shared
            rows.append((timed(options.repeat, listing), timed(options.repeat, floor)))
        api, own = min(r[0] for r in rows), min(r[1] for r in rows)
        print(f"\nscreens/?limit=1000&offset={offset} at {options.screens} screens ({connection.vendor}):")
        print(
            f"  the API: {api * 1000:.0f} ms (median of {options.repeat}, best of 2 rounds), {len(statements)} queries"
        )
        print(f"  its SQL + JSON: {own * 1000:.0f} ms")
        print(f"  ratio: {api / own:.2f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
