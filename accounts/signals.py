"""Live sockets follow the account: logout, deactivation or a new password end what they opened."""

from django.db import transaction

from realtime import access

# A save that touches only these fields cannot change who may listen (last_login at each login).
_HARMLESS_FIELDS = {"last_login", "display_name", "office_location", "job_title", "first_name", "last_name", "email"}


def on_logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    access.end_session(getattr(session, "session_key", None))


def on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if created or (update_fields is not None and set(update_fields) <= _HARMLESS_FIELDS):
        return
    user_id = instance.pk
    transaction.on_commit(lambda: access.recheck_user(user_id))


def on_user_deleted(sender, instance, **kwargs):
    user_id = instance.pk
    transaction.on_commit(lambda: access.recheck_user(user_id))
