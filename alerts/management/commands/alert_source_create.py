"""Create an alert source from a terminal; its token is printed once, on the last line."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from alerts.models import AlertSource, SourceKind
from alerts.services import alert_source_create


class Command(BaseCommand):
    help = "Create an alert source and print its token (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", choices=SourceKind.values, required=True)
        parser.add_argument("--no-rooms", action="store_true", help="Store alerts without opening rooms.")

    def handle(self, *args, name, kind, no_rooms, **options):
        if AlertSource.objects.filter(name=name).exists():
            raise CommandError(f"An alert source named {name!r} already exists.")
        try:
            source, key = alert_source_create(name=name, kind=kind, opens_rooms=not no_rooms)
        except IntegrityError:
            raise CommandError(f"An alert source named {name!r} already exists.") from None
        self.stdout.write(f"Alert source {source.name} ({source.get_kind_display()}), id {source.id}.")
        self.stdout.write(f"Send it as 'Authorization: Bearer <token>' to /api/alerts/{kind}. The token:")
        self.stdout.write(key)
