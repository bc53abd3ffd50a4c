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

    # What a list shows of the person next to each row (a message's sender, a room's opener):
    # the name and title. The rest of the row (password hash, e-mail, flags, dates) stays in
    # the database: decoding it for every row of a page was a tenth of a messages page's time.
    PERSON_FIELDS = ("id", "username", "display_name", "first_name", "last_name", "job_title")

    @classmethod
    def columns_not_shown(cls, relation: str) -> list[str]:
        """``defer()`` arguments that load only PERSON_FIELDS of the person at ``relation``."""
        return [f"{relation}__{field.name}" for field in cls._meta.concrete_fields if field.name not in cls.PERSON_FIELDS]


class ApiToken(models.Model):
    """A secret that lets an integration call the API as ``user``.

    Only a SHA-256 of the secret is stored; the secret itself is shown once, when
    an operator creates the token (accounts.services.api_token_create).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for, e.g. the calling system."))
    key_prefix = models.CharField(_("key prefix"), max_length=8, db_index=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
