from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import Severity


class RoomForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.SEV3)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    description = forms.CharField(label=_("What is happening?"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
