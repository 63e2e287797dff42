from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("callbacks_app", "0009_delivery_target_origin")]

    operations = [
        migrations.AddField(
            model_name="deliveryattempt",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
