"""The "Moderators" group, with exactly the permissions moderation in the admin needs.

Moderators view messages, hide and unhide them (the custom `hide_message` permission), view and handle
reports, and view blocks. They can neither change nor delete a message. The permissions are created here
when missing, because Django creates them only after all migrations ran (post_migrate) and a fresh
database has none yet.
"""

from django.db import migrations

GROUP = "Moderators"
# (model, codename, name of a permission Django would create)
PERMISSIONS = [
    ("message", "view_message", "Can view message"),
    ("message", "hide_message", "Can hide and unhide messages"),
    ("messagereport", "view_messagereport", "Can view message report"),
    ("messagereport", "change_messagereport", "Can change message report"),
    ("userblock", "view_userblock", "Can view user block"),
]


def create_moderators_group(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = []
    for model, codename, name in PERMISSIONS:
        content_type, _ = ContentType.objects.db_manager(db).get_or_create(app_label="messaging", model=model)
        permission, _ = Permission.objects.db_manager(db).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        permissions.append(permission)
    group, _ = Group.objects.db_manager(db).get_or_create(name=GROUP)
    group.permissions.set(permissions)


def delete_moderators_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.db_manager(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_moderators_group, delete_moderators_group)]
