from datetime import datetime, time, timedelta

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone

from snapshots import names
from snapshots.models import AuditEvent, Job
from snapshots.models.checkpoint import CHECKPOINT_NAME_MAX, validate_checkpoint_name
from snapshots.models.host import validate_host_name
from snapshots.services.actions import suggest_checkpoint_name


def _choices(choices, everything):
    return [("", everything), *choices]


class CheckpointForm(forms.Form):
    name = forms.CharField(
        label="Checkpoint name", max_length=CHECKPOINT_NAME_MAX, validators=[validate_checkpoint_name],
        help_text="Letters, digits, '_', '.' and '-'.",
    )
    leave_running = forms.BooleanField(
        label="Leave running", required=False,
        help_text="Keep the container running after the checkpoint; otherwise it stops.",
    )

    @classmethod
    def suggested(cls, container):
        return cls(initial={"name": suggest_checkpoint_name(container.name)})


class RestoreForm(forms.Form):
    checkpoint = forms.ChoiceField(label="Checkpoint to restore")

    def __init__(self, *args, checkpoints=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checkpoint"].choices = [(c.name, c.name) for c in checkpoints if c.is_present]


class CloneForm(forms.Form):
    checkpoint = forms.ChoiceField(label="Checkpoint to clone")
    to = forms.ChoiceField(label="On host")
    name = forms.CharField(
        label="New container name", required=False, max_length=200,
        validators=[RegexValidator(rf"^(?:{names.CONTAINER.pattern})$", "Use letters, digits, '_', '.' and '-'.")],
        help_text="Leave empty for <container>-clone-<time>.",
    )

    def __init__(self, *args, checkpoints=(), hosts=(), source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checkpoint"].choices = [(c.name, c.name) for c in checkpoints if c.is_present]
        self.fields["to"].choices = [(h.name, h.name) for h in hosts]
        if source is not None:
            self.initial.setdefault("to", source.name)


class MigrateForm(forms.Form):
    to = forms.ChoiceField(label="To host")
    keep_source = forms.BooleanField(
        label="Keep the source", required=False, help_text="Keep the stopped source container after the move.",
    )
    checked = forms.CharField(required=False, widget=forms.HiddenInput,
                              help_text="The host whose pre-flight the person saw; the move runs only for it")

    def __init__(self, *args, hosts=(), source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(h.name, h.name) for h in hosts if source is None or h.pk != source.pk]


class JobFilterForm(forms.Form):
    host = forms.ChoiceField(required=False)
    person = forms.CharField(required=False, max_length=150)
    kind = forms.ChoiceField(required=False, choices=_choices(Job.Kind.choices, "Any kind"))
    state = forms.ChoiceField(required=False, choices=_choices(Job.State.choices, "Any state"))

    def __init__(self, *args, host_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = _choices([(n, n) for n in host_names], "Any host")

    def filters(self):
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(required=False, max_length=64)
    host = forms.CharField(required=False, max_length=63)
    container = forms.CharField(required=False, max_length=255)
    outcome = forms.ChoiceField(required=False, choices=_choices(AuditEvent.Outcome.choices, "Any outcome"))
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self):
        """Field lookups for AuditEvent; dates are whole days in the viewer's time zone, both ends included."""
        if not self.is_valid():
            return {}
        data, tz = self.cleaned_data, timezone.get_current_timezone()
        lookups = {
            "actor_name": data["actor"], "action": data["action"], "host_name": data["host"],
            "container_name": data["container"], "outcome": data["outcome"],
        }
        if data["since"]:
            lookups["at__gte"] = datetime.combine(data["since"], time.min, tzinfo=tz)
        if data["until"]:
            lookups["at__lt"] = datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=tz)
        return {k: v for k, v in lookups.items() if v}


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=255, label="Container name or id")


class AddHostForm(forms.Form):
    name = forms.CharField(label="Host name", max_length=names.HOST.max_length, validators=[validate_host_name],
                           help_text="Lowercase letters, digits and '-'.")
    minutes = forms.IntegerField(label="Join token works for (minutes)", required=False, min_value=1,
                                 max_value=7 * 24 * 60, help_text="Default 60.")
