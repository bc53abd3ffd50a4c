from django import forms
from django.utils.translation import gettext_lazy as _

from knowledge.models import DocumentKind

UPLOAD_KINDS = [(DocumentKind.RUNBOOK.value, DocumentKind.RUNBOOK.label), (DocumentKind.REFERENCE.value, DocumentKind.REFERENCE.label)]


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("Markdown, plain text, PDF, Word (.docx) or HTML, up to 20 MB."))
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=UPLOAD_KINDS, initial=DocumentKind.RUNBOOK)
    tags = forms.CharField(label=_("Tags"), max_length=500, required=False, help_text=_("Separated by commas."))

    def clean_tags(self):
        return [t.strip() for t in self.cleaned_data["tags"].replace("，", ",").split(",") if t.strip()]
