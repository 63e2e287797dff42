from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0005_delivery_owner"),
    ]

    operations = [
        migrations.AddField(
            model_name="deliveryattempt",
            name="private_target",
            field=models.BooleanField(default=False),
        ),
    ]
