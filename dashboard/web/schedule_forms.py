"""Forms of schedules: when (a cron expression or an interval such as 15m), and what (on the schedules page)."""
import re

from django import forms

from snapshots.models import Selector

EVERY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def every_text(seconds):
    """An interval as the form shows it back: 90s, 15m, 2h, 1d."""
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class ScheduleForm(forms.Form):
    cron = forms.CharField(label="Cron expression", required=False, max_length=120,
                           help_text="Five fields, UTC, for example 0 * * * * (hourly). Or give an interval.")
    every = forms.CharField(label="Or every", required=False, max_length=16,
                            help_text="An interval: 90s, 15m, 2h or 1d.")
    leave_running = forms.BooleanField(label="Keep running", required=False, initial=True,
                                       help_text="Keep the container running after each checkpoint (otherwise "
                                                 "each one stops it).")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "schedule_%s")  # apart from the checkpoint form's fields on the same page
        super().__init__(*args, **kwargs)

    def clean_every(self):
        text = self.cleaned_data["every"]
        if not text.strip():
            return None
        match = EVERY.match(text.lower())
        if not match:
            raise forms.ValidationError("Write an interval as a number and a unit: 90s, 15m, 2h or 1d.")
        return int(match.group(1)) * UNITS[match.group(2)]

    @classmethod
    def of(cls, schedule):
        return cls(initial={"cron": schedule.cron, "every": every_text(schedule.interval_seconds),
                            "leave_running": schedule.leave_running})


class SelectorScheduleForm(ScheduleForm):
    """A schedule over many containers: a host's labelled ones, or the fleet's (admins)."""

    selector = forms.ChoiceField(label="Containers", choices=[(Selector.LABEL.value, Selector.LABEL.label),
                                                              (Selector.FLEET.value, Selector.FLEET.label)])
    host = forms.ChoiceField(label="Host", required=False)
    label = forms.CharField(label="Label", required=False, max_length=255,
                            help_text="key=value, or key alone for any value")

    def __init__(self, *args, hosts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [("", "–"), *((h.name, h.name) for h in hosts)]
