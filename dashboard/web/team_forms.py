from django import forms
from django.core.validators import validate_email

from notifications.addresses import validate_webhook_url


class WebhookForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, validators=[validate_webhook_url],
                         assume_scheme="https", help_text="http:// or https://; it receives a signed JSON POST")
    every_job = forms.BooleanField(label="Every finished job (not only failed ones)", required=False)
    secret = forms.CharField(label="Signing secret", required=False, max_length=128, min_length=16,
                             help_text="Leave empty and Cryo makes one (shown below once saved)")


class EmailForm(forms.Form):
    active = forms.BooleanField(label="Send e-mail", required=False)
    every_job = forms.BooleanField(label="On every finished job (not only failed ones)", required=False)
    recipients = forms.CharField(label="Recipients", required=False, max_length=2000,
                                 help_text="Comma separated; empty: the team's members' addresses")

    def clean_recipients(self):
        listed = [a.strip() for a in self.cleaned_data["recipients"].split(",") if a.strip()]
        for address in listed:
            validate_email(address)
        return ", ".join(listed)
