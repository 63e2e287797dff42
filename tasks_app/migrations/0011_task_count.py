"""TaskCount: each account's tasks per mode, kept by triggers on tasks_app_task (issue 27).

The counts start from the tasks there are (counted with the table locked against writes on
PostgreSQL, so that no task is written between the count and the triggers).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRESQL = [
    "LOCK TABLE tasks_app_task IN SHARE MODE",
    """
    INSERT INTO tasks_app_taskcount (owner_id, is_test, tasks)
    SELECT owner_id, is_test, count(*) FROM tasks_app_task GROUP BY owner_id, is_test
    """,
    """
    CREATE FUNCTION tasks_app_task_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO tasks_app_taskcount (owner_id, is_test, tasks)
            SELECT owner_id, is_test, count(*) FROM new_rows GROUP BY owner_id, is_test
            ORDER BY owner_id, is_test
            ON CONFLICT (owner_id, is_test) DO UPDATE SET tasks = tasks_app_taskcount.tasks + EXCLUDED.tasks;
        ELSE
            UPDATE tasks_app_taskcount AS c SET tasks = c.tasks - d.n
            FROM (SELECT owner_id, is_test, count(*) AS n FROM old_rows GROUP BY owner_id, is_test) AS d
            WHERE c.owner_id = d.owner_id AND c.is_test = d.is_test;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_app_task_count_insert AFTER INSERT ON tasks_app_task
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_task_count()
    """,
    """
    CREATE TRIGGER tasks_app_task_count_delete AFTER DELETE ON tasks_app_task
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_task_count()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER tasks_app_task_count_insert ON tasks_app_task",
    "DROP TRIGGER tasks_app_task_count_delete ON tasks_app_task",
    "DROP FUNCTION tasks_app_task_count()",
]
SQLITE = [
    """
    INSERT INTO tasks_app_taskcount (owner_id, is_test, tasks)
    SELECT owner_id, is_test, count(*) FROM tasks_app_task GROUP BY owner_id, is_test
    """,
    """
    CREATE TRIGGER tasks_app_task_count_insert AFTER INSERT ON tasks_app_task BEGIN
        INSERT INTO tasks_app_taskcount (owner_id, is_test, tasks) VALUES (NEW.owner_id, NEW.is_test, 1)
        ON CONFLICT (owner_id, is_test) DO UPDATE SET tasks = tasks + 1;
    END
    """,
    """
    CREATE TRIGGER tasks_app_task_count_delete AFTER DELETE ON tasks_app_task BEGIN
        UPDATE tasks_app_taskcount SET tasks = tasks - 1
        WHERE owner_id = OLD.owner_id AND is_test = OLD.is_test;
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER tasks_app_task_count_insert",
    "DROP TRIGGER tasks_app_task_count_delete",
]


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0010_invitations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TaskCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("is_test", models.BooleanField()),
                ("tasks", models.BigIntegerField(default=0)),
                (
                    "owner",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("owner", "is_test"), name="task_count_unique")
                ],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
