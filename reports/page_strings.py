"""The words the report review page's script shows, marked for the catalogue and handed over with ``json_script``."""

from django.utils.translation import gettext_lazy as _

from incidents.page_strings import COMMON

REVIEW = {
    **COMMON,
    "save": _("Save"), "saving": _("Saving…"), "saved": _("Saved as version %(number)s."),
    "conflict": _("Someone else saved first. Reload to see their version, then apply your change again."),
    "reload": _("Reload"), "noChanges": _("Nothing changed."),
    "regenerate": _("Rewrite with AI"), "instruction": _("Instruction (optional), e.g. shorter, add the root cause"),
    "writing": _("Writing…"), "rewriteFailed": _("The section was not rewritten"),
    "addRow": _("Add row"), "removeRow": _("Remove row"),
    "compare": _("Compare"), "with": _("with"), "unchanged": _("unchanged"), "changed": _("changed"),
    "added": _("added"), "removed": _("removed"), "finalize": _("Finalize"),
    "confirmFinalize": _("Sign this version off as final?"), "finalized": _("Finalized."),
    "draft": _("Draft"), "final": _("Final"), "version": _("Version"), "download": _("Download"),
    "source_ai": _("Written by the pipeline"), "source_edit": _("Edited by a person"),
    "source_section_ai": _("Section rewritten by AI"), "evidence": _("Sources"), "message": _("message"),
    "passage": _("knowledge passage"),
    "newVersion": _("A new version was saved: %(number)s."),
}
