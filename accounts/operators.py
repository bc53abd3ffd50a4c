"""The ``Operators`` group: what an operator may do in the admin.

Staff status alone opens an empty admin; these permissions are what operators need to
look after the rooms, the reports and their delivery, the schedules and the API tokens,
and to read the users. The data migration ``reports.0002_operators_group`` creates the
group; seed_demo puts the demo operator in it and a directory login maps the AD
operator group to it (accounts.ldap).
"""

from django.apps import apps as global_apps

OPERATORS_GROUP = "Operators"

_SCHEDULE_MODELS = ["periodictask", "crontabschedule", "intervalschedule", "clockedschedule", "solarschedule"]

# app label -> model -> actions. Messages, files and steps are written by the rooms and the
# pipeline, so operators read them; users come from the directory, so they are read-only too.
OPERATOR_PERMISSIONS = {
    "incidents": {
        "incidentroom": ["view", "change"],
        "message": ["view"],
        "roomfile": ["view"],
        "roommember": ["view", "add", "change", "delete"],
        "actionitem": ["view", "add", "change", "delete"],
        "category": ["view", "add", "change"],
    },
    "reports": {"report": ["view", "change"], "reportstep": ["view"], "reportversion": ["view"]},
    "django_celery_beat": {model: ["view", "add", "change"] for model in _SCHEDULE_MODELS},
    "accounts": {"apitoken": ["view", "add", "change"], "user": ["view"]},
}


def operator_codenames() -> list[tuple[str, str]]:
    return [
        (app_label, f"{action}_{model}")
        for app_label, models in OPERATOR_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]


def ensure_operators_group(apps=global_apps):
    """Create the group (if missing) and give it every operator permission; returns it."""
    from django.contrib.auth.management import create_permissions

    # On a fresh database the permissions are only made after the last migration
    # (post_migrate); make them now so that the group can hold them.
    for app_config in apps.get_app_configs():
        if app_config.label in OPERATOR_PERMISSIONS:
            had_module = getattr(app_config, "models_module", None)
            app_config.models_module = had_module or True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = had_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    wanted = operator_codenames()
    permissions = [
        permission
        for permission in Permission.objects.filter(
            content_type__app_label__in=OPERATOR_PERMISSIONS, codename__in=[codename for _, codename in wanted]
        ).select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    group.permissions.add(*permissions)
    return group


def sync_operator_membership(user) -> None:
    """In the Operators group exactly when staff: called after each directory login."""
    group = ensure_operators_group()
    if user.is_staff:
        user.groups.add(group)
    else:
        user.groups.remove(group)
