from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0010_host_engine_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="archive",
            name="unpacked_size",
            field=models.BigIntegerField(blank=True, null=True,
                                         help_text="Bytes of files its writer declared: bounds unpacking"),
        ),
        migrations.AddField(
            model_name="archive",
            name="wrapped_key",
            field=models.BinaryField(blank=True, null=True, editable=False,
                                     help_text="Its data key, wrapped by the store's key-encryption key"),
        ),
        migrations.AddField(
            model_name="archive",
            name="key_id",
            field=models.CharField(blank=True, max_length=16, editable=False,
                                   help_text="Which key-encryption key wraps the data key"),
        ),
    ]
