"""Lengths of time as people read them: whole minutes between two moments, and a short duration."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

MINUTES_PER_DAY = 60 * 24


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end``, never negative (clocks of two machines may disagree)."""
    return max(int((end - start).total_seconds() // 60), 0)


def human_duration(value: timedelta | None) -> str:
    """A short duration in the active language: "47 min", "2 h 05 min", "3 d 4 h"."""
    if value is None:
        return ""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, MINUTES_PER_DAY)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if not minutes:
        return _("under a minute")
    return _("%(m)d min") % {"m": minutes}
