"""The retention policy form: what it covers, and its rules (keep the last N, a maximum age, a maximum size)."""
import re

from django import forms

from snapshots.models import Selector

AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
AGE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$")
SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


class RetentionForm(forms.Form):
    selector = forms.ChoiceField(label="Applies to", choices=Selector.choices, initial=Selector.CONTAINER)
    host = forms.CharField(label="Host", required=False, max_length=63)
    container = forms.CharField(label="Container", required=False, max_length=255,
                                help_text="For one container: its name on the host")
    label = forms.CharField(label="Label", required=False, max_length=255,
                            help_text="For a host's labelled containers: key=value, or key alone")
    keep_last = forms.IntegerField(label="Keep the last", required=False, min_value=0, max_value=100_000)
    max_age = forms.CharField(label="Maximum age", required=False, max_length=16, help_text="30m, 12h, 7d or 4w")
    max_size = forms.CharField(label="Maximum total size", required=False, max_length=16,
                               help_text="500M, 10G (decimal units)")

    def clean_max_age(self):
        text = self.cleaned_data["max_age"].strip().lower()
        if not text:
            return None
        match = AGE.match(text)
        if not match:
            raise forms.ValidationError("Write a maximum age as a number and a unit: 30m, 12h, 7d or 4w.")
        return int(match.group(1)) * AGE_UNITS[match.group(2)]

    def clean_max_size(self):
        text = self.cleaned_data["max_size"].strip().lower()
        if not text:
            return None
        match = SIZE.match(text)
        if not match:
            raise forms.ValidationError("Write a maximum size as a number and a unit: 500M or 10G.")
        return int(float(match.group(1)) * SIZE_UNITS[match.group(2)])
