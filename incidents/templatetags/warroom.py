from datetime import timedelta

from django import template
from django.utils.html import format_html
from django.utils.timezone import localtime

from incidents import timeline
from incidents.timing import human_duration

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A human duration: "47 min", "2 h 05 min", "3 d 4 h"."""
    return human_duration(value)


@register.simple_tag
def local_time(value, fmt="%Y-%m-%d %H:%M"):
    """A time in the site's zone (Asia/Taipei) with the exact ISO time in a tooltip."""
    if value is None:
        return ""
    local = localtime(value)
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), local.isoformat(), local.strftime(fmt))


@register.simple_tag
def page_strings(name):
    """The strings of one page's scripts (incidents.page_strings), for ``json_script``."""
    from incidents.page_strings import PAGES

    return PAGES[name]


@register.filter
def line_text(message) -> str:
    """A timeline message as the reader reads it: a system line in the page's language, a person's own words."""
    return timeline.text_of(message)
