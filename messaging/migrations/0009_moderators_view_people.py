"""Moderators may view people: the sender and the recipient a message's page links to.

Adds Django's *view user* permission to the "Moderators" group of migration 0002 (the user admin shows them a
read-only page without the password, `users.admin.UserAdmin`); backwards takes it away again. The permission
is created here when missing, as in 0002: Django creates permissions only after all migrations ran.
"""

from django.db import migrations

GROUP = "Moderators"
APP_LABEL, MODEL, CODENAME, NAME = "users", "user", "view_user", "Can view user"


def let_moderators_view_people(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.db_manager(db).filter(name=GROUP).first()
    if group is None:
        return
    content_type, _ = ContentType.objects.db_manager(db).get_or_create(app_label=APP_LABEL, model=MODEL)
    permission, _ = Permission.objects.db_manager(db).get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    group.permissions.add(permission)


def stop_moderators_viewing_people(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    db = schema_editor.connection.alias
    permission = (
        Permission.objects.db_manager(db)
        .filter(content_type__app_label=APP_LABEL, content_type__model=MODEL, codename=CODENAME)
        .first()
    )
    group = Group.objects.db_manager(db).filter(name=GROUP).first()
    if permission is not None and group is not None:
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_summary_vacuumed_often"),
        ("users", "0001_initial"),
    ]

    operations = [migrations.RunPython(let_moderators_view_people, stop_moderators_viewing_people)]
