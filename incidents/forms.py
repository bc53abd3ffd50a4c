from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import Category, Severity


class RoomForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.SEV3)
    category = forms.CharField(label=_("Category"), max_length=100, required=False, widget=forms.Select)
    description = forms.CharField(label=_("What is happening?"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The managed list (incidents.Category, edited in the admin), in the reader's language.
        self.categories = list(Category.objects.filter(active=True))
        self.fields["category"].widget.choices = [("", _("(none)"))] + [
            (category.key, category.label()) for category in self.categories
        ]

    def clean_category(self):
        """A category's key; its English or Chinese label, in any case, is taken for it."""
        value = self.cleaned_data["category"].strip()
        if not value:
            return ""
        for category in self.categories:
            if value.lower() in {category.key, category.label_en.lower(), category.label_zh_hant.lower()}:
                return category.key
        raise forms.ValidationError(_("Choose a category from the list."))
