from django.db import migrations, models


class Migration(migrations.Migration):
    """API tokens get a scope and an expiry. Tokens made before could act, so they keep `operate`; they have no
    expiry until revoked (expires_at stays empty)."""

    dependencies = [
        ("snapshots", "0011_archive_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(choices=[("read", "Read"), ("operate", "Operate")], default="operate",
                                   max_length=16),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(choices=[("read", "Read"), ("operate", "Operate")], default="read", max_length=16),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, help_text="Empty only on tokens made before expiry", null=True),
        ),
    ]
