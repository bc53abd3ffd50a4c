"""The words the pages' scripts show, marked for the catalogue and handed over with ``json_script``.

Scripts have no catalogue of their own; a page puts ``{% page_strings "room" as strings %}``
and ``{{ strings|json_script:"warroom-i18n" }}`` in its body, and static/js/warroom.js
reads that block into ``window.WARROOM_I18N``. No inline script is needed, so the
Content-Security-Policy can forbid them.
"""

from django.utils.translation import gettext_lazy as _

COMMON = {
    "min": _("min"), "h": _("h"), "d": _("d"), "underAMinute": _("under a minute"),
    "requestFailed": _("The request failed. Try again."),
    # 👍/👎 on an AI output (static/js/warroom.js feedback()).
    "rateUp": _("Helpful"), "rateDown": _("Not helpful"), "feedbackComment": _("What was wrong? (optional)"),
    "feedbackSend": _("Send"), "feedbackThanks": _("Thanks: your rating is recorded."),
}

ROOM = {
    **COMMON,
    "resolved": _("Resolved"), "active": _("Active"), "archived": _("Archived"),
    "uploadFailed": _("Upload failed"), "sendFailed": _("Could not send"),
    # %(name)s is the file's name, %(limit)d the size limit in MB.
    "uploadTooLarge": _("%(name)s is larger than %(limit)d MB."),
    "reconnecting": _("Reconnecting…"), "live": _("Live"), "noFiles": _("No files yet."),
    "confirmArchive": _("Archive this room? It becomes read-only."), "remove": _("Remove"),
    "confirmActive": _("This incident is still active: the report will only cover it up to now. Generate anyway?"),
    "reportReady": _("Report ready"), "reportFailed": _("Report failed"), "download": _("Download"),
    "retry": _("Retry"), "noReports": _("No reports yet."), "ai": _("AI"), "offline": _("Offline writer"),
    "fallback": _("Offline (AI failed)"), "tokens": _("tokens"), "seconds": _("s"),
    "incident": _("Incident report"), "postmortem": _("Postmortem"),
    "stage_pending": _("Waiting for a worker…"), "stage_collecting_data": _("Collecting data"),
    "stage_generating_content": _("Writing content"), "stage_assembling_document": _("Assembling the document"),
    "stage_completed": _("Completed"), "stage_failed": _("Failed"),
    "progressTitle": _("Writing the report"), "progressDone": _("The report is ready"),
    "progressFailed": _("The report could not be written"),
    "copied": _("Copied"), "notesFailed": _("The notes could not be written."),
    "version": _("version"), "of": _("of"), "addTask": _("Add as task"), "added": _("Added to tasks"),
    "done": _("Done"), "unassigned": _("Unassigned"), "due": _("due"),
    "showMore": _("Show more"), "showLess": _("Show less"),
    "review": _("Review"), "final": _("Final"),
    "messageNotFound": _("That message is not in this room's timeline."),
}

DASHBOARD = {
    **COMMON,
    "opened": _("Opened"), "resolved": _("Resolved"), "incidents": _("Incidents"), "none": _("(none)"),
    "no_ratings": _("No ratings in the last 30 days."),
}

PAGES = {"room": ROOM, "dashboard": DASHBOARD, "common": COMMON}
