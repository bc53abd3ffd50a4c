"""Server-rendered pages for responders."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from incidents import selectors
from incidents.models import RoomStatus


@login_required
def room_list(request):
    rooms = selectors.room_list_for_user(user=request.user)
    status = request.GET.get("status", "")
    if status in RoomStatus.values:
        rooms = rooms.filter(status=status)
    return render(
        request,
        "incidents/room_list.html",
        {"rooms": rooms[:200], "status": status, "statuses": RoomStatus.choices},
    )


@login_required
def room_detail(request, room_id):
    room = selectors.room_get_for_user(user=request.user, room_id=room_id)
    if room is None:
        raise Http404
    return render(
        request,
        "incidents/room_detail.html",
        {
            "room": room,
            "members": selectors.room_members(room=room),
            "timeline": selectors.room_timeline(room=room),
            "files": room.files.select_related("uploaded_by"),
            "membership": selectors.room_membership(user=request.user, room=room),
        },
    )
