from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save

        from accounts import schema  # noqa: F401 - registers the OpenAPI description of token auth
        from config import checks  # noqa: F401 - registers the deployment check of the secret key
        from accounts import signals
        from accounts.models import User

        user_logged_out.connect(signals.on_logged_out, dispatch_uid="accounts-logout-closes-sockets")
        post_save.connect(signals.on_user_saved, sender=User, dispatch_uid="accounts-user-saved-rechecks-sockets")
        post_delete.connect(signals.on_user_deleted, sender=User, dispatch_uid="accounts-user-deleted-rechecks-sockets")
