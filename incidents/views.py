"""Server-rendered pages for responders. The room page then lives on the API and WebSocket."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from config.errors import ServiceError
from incidents import selectors, services
from incidents.forms import RoomForm
from incidents.models import MemberRole, RoomStatus, Severity, category_labels

# Rooms per page of the room list.
ROOMS_PER_PAGE = 50
# The newest messages the room page renders; older ones load as the timeline scrolls up
# (a room fed by alerts reaches 100,000 messages, and all of them made a 7.7 MB page at 20,000).
ROOM_PAGE_MESSAGES = 150


@login_required
def room_list(request):
    rooms = selectors.room_list_for_user(user=request.user)
    status = request.GET.get("status", "")
    severity = request.GET.get("severity", "")
    query = request.GET.get("q", "").strip()
    if status in RoomStatus.values:
        rooms = rooms.filter(status=status)
    if severity in Severity.values:
        rooms = rooms.filter(severity=severity)
    if query:
        rooms = rooms.filter(title__icontains=query)
    page = Paginator(rooms, ROOMS_PER_PAGE).get_page(request.GET.get("page"))
    labels = category_labels()
    for room in page.object_list:
        room.category_label = labels.get(room.category.strip().lower(), room.category)
    # The page links keep the filters.
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(
        request,
        "incidents/room_list.html",
        {
            "rooms": page.object_list,
            "page": page,
            "filters_query": kept.urlencode(),
            "status": status,
            "severity": severity,
            "query": query,
            "statuses": RoomStatus.choices,
            "severities": Severity.choices,
        },
    )


@login_required
def room_create(request):
    form = RoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            room = services.room_create(created_by=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            return redirect("incidents:room-detail", room_id=room.id)
    return render(request, "incidents/room_form.html", {"form": form})


@login_required
def room_detail(request, room_id):
    room = selectors.room_for_user_or_404(user=request.user, room_id=room_id)
    membership = selectors.room_membership(user=request.user, room=room)
    can_manage = services.can_manage(room=room, user=request.user)
    labels = category_labels()
    room.category_label = labels.get(room.category.strip().lower(), room.category)
    timeline, has_older = selectors.room_latest_messages(room=room, limit=ROOM_PAGE_MESSAGES)
    config = {
        "roomId": str(room.id),
        "api": f"/api/rooms/{room.id}",
        "socket": f"/ws/rooms/{room.id}/",
        "timeZone": settings.TIME_ZONE,
        "me": {"id": request.user.id, "name": str(request.user)},
        "canManage": can_manage,
        "canContribute": services.can_contribute(room=room, user=request.user),
        "status": room.status,
        "createdAt": room.created_at.isoformat(),
        "resolvedAt": room.resolved_at.isoformat() if room.resolved_at else None,
        "maxFileBytes": settings.ROOM_FILE_MAX_BYTES,
        "roomsUrl": reverse("incidents:room-list"),
        # The room's category may change live: the script shows it through the same labels.
        "categoryLabels": labels,
        # Whether the timeline has older messages than the ones rendered (they load on scroll).
        "hasOlder": has_older,
        "pageSize": ROOM_PAGE_MESSAGES,
    }
    return render(
        request,
        "incidents/room_detail.html",
        {
            "room": room,
            "members": selectors.room_members(room=room),
            "timeline": timeline,
            "files": selectors.room_files(room=room),
            "membership": membership,
            "can_manage": can_manage,
            "roles": MemberRole.choices,
            "severities": Severity.choices,
            "room_config": config,
        },
    )


@login_required
def dashboard(request):
    return render(request, "incidents/dashboard.html", {"ranges": [("7d", _("7 days")), ("30d", _("30 days")), ("90d", _("90 days"))]})
