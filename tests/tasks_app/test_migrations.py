"""The data side of tasks_app's migrations, run for real on the test database."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tasks_app", "0003_tags_and_idempotency_keys")]
AFTER = [("tasks_app", "0004_profile_settings_per_mode")]


def test_0004_keeps_the_current_url_and_secret_as_live_and_gives_test_fresh_ones(migrator):
    old = migrator(BEFORE)
    User, Profile = old.get_model("auth", "User"), old.get_model("tasks_app", "Profile")
    profiles = [
        Profile.objects.create(
            user=User.objects.create(username=f"u{n}@example.com"),
            default_callback_url=f"https://hooks.example.com/{n}",
            signing_secret=f"whsec_old{n}",
            previous_signing_secret=f"whsec_previous{n}",
        )
        for n in range(2)
    ]

    new = migrator(AFTER)

    migrated = list(new.get_model("tasks_app", "Profile").objects.order_by("id"))
    for n, (before, after) in enumerate(zip(profiles, migrated, strict=True)):
        assert after.id == before.id
        assert after.live_default_callback_url == f"https://hooks.example.com/{n}"
        assert after.live_signing_secret == f"whsec_old{n}"
        assert after.live_previous_signing_secret == f"whsec_previous{n}"
        assert after.test_default_callback_url == ""
        assert after.test_signing_secret.startswith("whsec_") and len(after.test_signing_secret) == 50
        assert after.test_previous_signing_secret == ""
        assert after.allowed_networks == []
    assert migrated[0].test_signing_secret != migrated[1].test_signing_secret


def test_0010_removes_memberships_of_operators_and_account_owners_and_mails_no_unconfirmed_one(migrator):
    old = migrator([("tasks_app", "0009_task_owner_no_index_of_its_own")])
    User, Profile = old.get_model("auth", "User"), old.get_model("tasks_app", "Profile")
    Membership = old.get_model("tasks_app", "Membership")
    account = Profile.objects.create(user=User.objects.create(username="owner@example.com"))
    users = {
        "superuser": User.objects.create(username="root", email="root@ops.example", is_superuser=True),
        "staff": User.objects.create(username="staff", email="staff@ops.example", is_staff=True),
        "owner": User.objects.create(username="other@example.com", email="other@example.com"),
        "plain": User.objects.create(username="mate@example.com", email="mate@example.com"),
    }
    Profile.objects.create(user=users["owner"])
    for user in users.values():
        Membership.objects.create(account=account, user=user, role="admin", alert_emails=True)

    new = migrator([("tasks_app", "0010_invitations")])

    kept = list(
        new.get_model("tasks_app", "Membership").objects.values(
            "user__username", "alert_emails", "accepted_at"
        )
    )
    assert kept == [{"user__username": "mate@example.com", "alert_emails": False, "accepted_at": None}]


def test_0012_gives_each_task_with_an_outcome_its_newest_finished_deliverys_creation_time(migrator):
    from datetime import timedelta

    from django.utils import timezone

    old = migrator([("tasks_app", "0011_task_count"), ("callbacks_app", "0019_delivery_feed")])
    User, Task = old.get_model("auth", "User"), old.get_model("tasks_app", "Task")
    Delivery = old.get_model("callbacks_app", "Delivery")
    user = User.objects.create(username="outcomes@example.com")
    now = timezone.now()
    shown, never, unsent = (
        Task.objects.create(id=f"task{n}", owner=user, type="categorization", callback_succeeded=value)
        for n, value in ((1, False), (2, None), (3, False))
    )
    for n, (status, age) in enumerate((("succeeded", 3), ("failed", 2), ("pending", 1), ("superseded", 0))):
        row = Delivery.objects.create(
            id=f"msg_{n}",
            task=shown,
            owner=user,
            event="task.completed",
            target="https://x",
            payload="{}",
            status=status,
        )
        Delivery.objects.filter(id=row.id).update(created_at=now - timedelta(minutes=age))

    new = migrator([("tasks_app", "0012_task_callback_outcome_of")])

    migrated = {
        task.id: task.callback_outcome_of for task in new.get_model("tasks_app", "Task").objects.all()
    }
    assert migrated == {shown.id: now - timedelta(minutes=2), never.id: None, unsent.id: None}
