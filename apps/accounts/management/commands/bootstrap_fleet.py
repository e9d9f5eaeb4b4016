from django.core.management.base import BaseCommand

from apps.accounts.services import fleet_bootstrap


class Command(BaseCommand):
    help = "Create (or reuse) a fleet and an admin member of it. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Fleet name")
        parser.add_argument("--user", required=True, help="Username of the fleet's admin")
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--share-of-voice",
            action="store_true",
            help="Enable share of voice with the lessor (1) and advertiser (2) types; the member is a lessor.",
        )
        parser.add_argument(
            "--external-storage", action="store_true", help="Give the fleet a local folder as external storage."
        )
        parser.add_argument("--staff", action="store_true", help="Let the user log in to the admin.")

    def handle(self, *args, **options):
        fleet, membership = fleet_bootstrap(
            name=options["name"],
            username=options["user"],
            password=options["password"],
            share_of_voice=options["share_of_voice"],
            external_storage=options["external_storage"],
            staff=options["staff"],
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Fleet '{fleet.name}' (id {fleet.pk}): {membership.user.username} is {membership.role}."
            )
        )
