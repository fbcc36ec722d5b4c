"""One rule per kind of name, shared by models, forms, templates, the APIs and the host agent.

Django-free on purpose: the host agent validates every name it receives from the dashboard again with the same
rules before it builds a path or calls its engine.
"""
import re
from dataclasses import dataclass


class InvalidName(ValueError):
    """A name outside its rule; the message says what the rule is."""


@dataclass(frozen=True)
class NameRule:
    kind: str
    pattern: str  # for HTML's pattern attribute: anchored implicitly, no flags
    max_length: int
    text: str
    min_length: int = 1

    @property
    def regex(self):
        return re.compile(rf"^(?:{self.pattern})$")

    def check(self, value):
        """Return the value when it follows the rule; raise InvalidName saying why not."""
        if not isinstance(value, str) or not (self.min_length <= len(value) <= self.max_length) \
                or not self.regex.match(value):
            shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
            raise InvalidName(f"{shown[:160]} is not a valid {self.kind}: {self.text}")
        return value

    def is_valid(self, value):
        try:
            self.check(value)
            return True
        except InvalidName:
            return False


HOST = NameRule(
    "host name", r"[a-z0-9][a-z0-9-]*", 63,
    "use lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters",
)
# Docker's rule for checkpoint names, with a length cap of our own.
CHECKPOINT = NameRule(
    "checkpoint name", r"[a-zA-Z0-9][a-zA-Z0-9_.\-]+", 128,
    "letters, digits, '_', '.' and '-', at least 2 characters, at most 128, not starting with '_', '.' or '-' "
    "([a-zA-Z0-9][a-zA-Z0-9_.-]+)",
    min_length=2,
)
# Docker's rule for container names (it allows a leading '/', which Cryo never sends).
CONTAINER = NameRule(
    "container name", r"[a-zA-Z0-9][a-zA-Z0-9_.\-]+", 200,
    "letters, digits, '_', '.' and '-', at least 2 characters, at most 200, starting with a letter or digit",
    min_length=2,
)
# What an engine calls a container: a full id (64 hex digits).
ENGINE_ID = NameRule("container id", r"[0-9a-f]{64}", 64, "64 lowercase hexadecimal digits", min_length=64)
IMAGE_ID = NameRule("image id", r"sha256:[0-9a-f]{64}", 71, "sha256: followed by 64 hexadecimal digits",
                    min_length=71)
UUID = NameRule("id", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", 36,
                "a UUID in lowercase hexadecimal", min_length=36)
