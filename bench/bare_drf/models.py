"""Tables like Warroom's rooms and messages; ``app_label`` lets the benchmark process (Warroom's settings) create and fill them."""

from django.db import models


class Person(models.Model):
    username = models.CharField(max_length=150)
    display_name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "bare_drf"


class Room(models.Model):
    id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10)
    category = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20)
    created_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True)
    member_count = models.IntegerField(default=1)

    class Meta:
        app_label = "bare_drf"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "bare_drf"
        indexes = [models.Index(fields=["room", "created_at"])]
