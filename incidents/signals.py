"""Domain signals that higher apps (reports) connect to in their AppConfig.ready().

``incidents`` never imports ``reports``: when a room is resolved it sends
``room_resolved`` after the transaction commits, and ``reports`` decides what to
write (ticket notes, a postmortem).
"""

from django.dispatch import Signal

# Sent after commit with sender=IncidentRoom and keyword arguments:
#   room: the resolved IncidentRoom (fresh from the database)
#   resolved_by: the User who resolved it
#   first_resolution: False when the room had been resolved before and was reopened
room_resolved = Signal()
