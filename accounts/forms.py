from django.contrib.auth import authenticate
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.ldap import LOCAL_ACCOUNT_CONFLICT, UNAVAILABLE, directory_problem
from accounts.throttle import LoginThrottle


class LoginForm(AuthenticationForm):
    """Django's login form, throttled, and honest about a directory that could not answer."""

    error_messages = {
        **AuthenticationForm.error_messages,
        # Django's own wording, in Warroom's catalogue for a natural zh-Hant translation.
        "invalid_login": _(
            "Please enter a correct %(username)s and password. Note that both fields may be case-sensitive."
        ),
        "throttled": _("Too many failed logins. Wait a few minutes and try again, or ask an operator."),
        "directory_unavailable": _(
            "The directory is unavailable right now; try again in a minute, or use a local account."
        ),
        "directory_conflict": _(
            "Your directory account has the same name as a local Warroom account; ask an operator to link them."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        throttle = LoginThrottle(self.request, username)
        if throttle.is_locked():
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            throttle.record_failure()
            problem = directory_problem(self.request)
            if problem == UNAVAILABLE:
                raise ValidationError(self.error_messages["directory_unavailable"], code="directory_unavailable")
            if problem == LOCAL_ACCOUNT_CONFLICT:
                raise ValidationError(self.error_messages["directory_conflict"], code="directory_conflict")
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        throttle.reset_account()
        return self.cleaned_data


class AdminLoginForm(LoginForm):
    """The admin's login: the same throttle and failure counters as /accounts/login/, staff only."""

    required_css_class = "required"
    error_messages = {**LoginForm.error_messages, "invalid_login": AdminAuthenticationForm.error_messages["invalid_login"]}

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
