"""The knowledge page: search, the documents, and an upload form for operators and commanders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from config.errors import ServiceError
from knowledge import search, selectors, services
from knowledge.forms import DocumentUploadForm


@login_required
def knowledge_index(request):
    may_upload = selectors.user_may_upload(user=request.user)
    form = DocumentUploadForm()
    if request.method == "POST" and not may_upload:
        # The form is not shown to them; a POST anyway is refused out loud, not dropped in silence.
        raise PermissionDenied(_("Only operators and incident commanders can add documents."))
    if request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                document = services.document_upload(uploaded_by=request.user, uploaded=form.cleaned_data["file"],
                                                    kind=form.cleaned_data["kind"], title=form.cleaned_data["title"],
                                                    tags=form.cleaned_data["tags"])
            except ServiceError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, _("“%(title)s” was uploaded; it is being indexed.") % {"title": document.title})
                return redirect("knowledge:index")
    query = request.GET.get("q", "").strip()[:500]
    result = search.search(query, k=10) if query else None
    return render(request, "knowledge/index.html", {
        "form": form, "may_upload": may_upload, "query": query, "result": result,
        "documents": selectors.document_list()[:100],
    })


@login_required
def passage_detail(request, chunk_id):
    """One passage, as a ``kb:45`` citation chip opens it: its document, heading and whole text."""
    chunk = selectors.passage_get(chunk_id=chunk_id)
    if chunk is None:
        raise Http404(_("No such passage."))
    return render(request, "knowledge/passage.html", {"chunk": chunk, "document": chunk.document})
