from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person (or service account) known to Warroom.

    Directory users are upserted at every login from Active Directory, so
    ``display_name``, ``office_location`` and ``job_title`` mirror the directory.
    Everywhere a person is shown, ``str(user)`` gives their display name.
    """

    class Source(models.TextChoices):
        LDAP = "ldap", _("Directory")
        LOCAL = "local", _("Local")

    email = models.EmailField(_("email address"), blank=True)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    office_location = models.CharField(_("office"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.LOCAL)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # The directory identity: unique when set, whatever its case.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_unique_ci"
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        """The name people see: display name, else full name, else the account name."""
        return self.display_name or self.get_full_name() or self.username
