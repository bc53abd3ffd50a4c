from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS

from accounts.forms import LoginForm
from accounts.throttle import remember_device


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["directory_enabled"] = bool(getattr(settings, "AUTH_LDAP_SERVER_URI", ""))
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        # This browser is now known for the account: strangers' failures will not lock it.
        remember_device(self.request, response, form.cleaned_data["username"])
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response
