"""Team invitations (issue 25 F1, F6, F13): a membership is made only by accepting one.

Memberships an earlier release attached directly are cleaned up: those of staff or superuser
users and of users who own an account are removed (the portal never signs them in, SPEC §8
"People"), and the others, whose addresses nobody confirmed, get no alert emails.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def memberships_clean(apps, schema_editor):
    Membership = apps.get_model("tasks_app", "Membership")
    Membership.objects.filter(
        Q(user__is_staff=True) | Q(user__is_superuser=True) | Q(user__profile__isnull=False)
    ).delete()
    Membership.objects.filter(accepted_at__isnull=True).update(alert_emails=False)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0009_task_owner_no_index_of_its_own"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(memberships_clean, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.CharField(max_length=254)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("labeler", "Labeler"),
                            ("member", "Member"),
                            ("manager", "Manager"),
                            ("admin", "Admin"),
                        ],
                        default="member",
                        max_length=16,
                    ),
                ),
                (
                    "token_hash",
                    models.CharField(blank=True, db_index=True, default="", editable=False, max_length=64),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("invited_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invitations",
                        to="tasks_app.profile",
                    ),
                ),
            ],
            options={
                "ordering": ["invited_at", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "email"), name="invitation_per_account_and_address"
                    )
                ],
            },
        ),
    ]
