"""Create the beat entries Warroom needs (also done after every migrate)."""

from django.core.management.base import BaseCommand

from reports.daily.schedule import ensure_daily_schedule


class Command(BaseCommand):
    help = "Create the 08:00 Asia/Taipei daily report entry in django-celery-beat if it is missing."

    def handle(self, *args, **options):
        task, created = ensure_daily_schedule()
        verb = "Created" if created else "Already there (left as the operators set it)"
        self.stdout.write(f"{verb}: “{task.name}” → {task.task}, {task.crontab}, enabled={task.enabled}")
