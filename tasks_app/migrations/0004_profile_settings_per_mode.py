"""A default callback URL and a signing secret per mode, and the account's allowed networks.

The existing values become the live ones; every account gets a fresh test
signing secret of its own (a callable default on AddField would give every
existing row the same one) and an empty test default callback URL.
"""

from django.db import migrations, models

import tasks_app.keys


def fresh_test_signing_secrets(apps, schema_editor):
    Profile = apps.get_model("tasks_app", "Profile")
    for profile in Profile.objects.only("id").iterator():
        Profile.objects.filter(id=profile.id).update(
            test_signing_secret=tasks_app.keys.generate_signing_secret()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0003_tags_and_idempotency_keys"),
    ]

    operations = [
        migrations.RenameField("profile", "default_callback_url", "live_default_callback_url"),
        migrations.RenameField("profile", "signing_secret", "live_signing_secret"),
        migrations.RenameField("profile", "previous_signing_secret", "live_previous_signing_secret"),
        migrations.RenameField(
            "profile", "previous_signing_secret_expires_at", "live_previous_signing_secret_expires_at"
        ),
        migrations.AddField(
            model_name="profile",
            name="test_default_callback_url",
            field=models.CharField(blank=True, default="", max_length=2048),
        ),
        migrations.AddField(
            model_name="profile",
            name="test_signing_secret",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fresh_test_signing_secrets, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="profile",
            name="test_signing_secret",
            field=models.CharField(default=tasks_app.keys.generate_signing_secret, max_length=64),
        ),
        migrations.AddField(
            model_name="profile",
            name="test_previous_signing_secret",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="profile",
            name="test_previous_signing_secret_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="profile",
            name="allowed_networks",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
