"""The errors services raise when a business rule says no, below every door (API, console, tasks).

- `field_error`: a rule about one field, a Django `ValidationError` (the API renders it
  `{field: [{message, code}]}`, the console puts it next to the field).
- `DomainError`: a refusal whose payload a reference fixes (quota_exceeded, screens_not_enough, a 403 with a
  code, ...), with its HTTP status. The API renders the payload untouched; the console shows its messages
  on the form; in a task it is an ordinary exception whose text is the messages (and it pickles, so a
  result backend keeps it).

Nothing here knows HTTP frameworks: services import this module, never `signage.api`.
"""

from django.core.exceptions import ValidationError
from django.utils.html import strip_tags

ALL = "__all__"


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    """A business-rule error on one field, as services raise it (rendered `{field: [{message, code}]}`)."""
    return ValidationError({field: ValidationError(message, code=code)})


class DomainError(Exception):
    """A business rule refused the operation. `payload` is what an API client receives, as the reference
    gives it; `status` its HTTP status; `objects` names model instances the payload refers to, which the
    API adds to the payload in its own representation (e.g. the existing place a change would duplicate)."""

    status: int = 400

    def __init__(self, payload: dict, status: int | None = None, objects: dict | None = None):
        super().__init__(payload, status, objects)
        self.payload = payload
        if status is not None:
            self.status = status
        self.objects = objects or {}

    @classmethod
    def refusal(cls, message: str, code: str, status: int = 403) -> "DomainError":
        """A refusal of the whole request: `{"detail": message, "code": code}` (a 403 unless told)."""
        return cls({"detail": message, "code": code}, status)

    def messages(self) -> dict[str, list[str]]:
        """The payload as plain-text messages per field (or per code for a refusal), for forms and logs."""
        if set(self.payload) == {"detail", "code"}:
            return {str(self.payload["code"]): [str(self.payload["detail"])]}
        return {str(key): _texts(value) for key, value in self.payload.items()}

    def __str__(self) -> str:
        return "; ".join(text for texts in self.messages().values() for text in texts)


def _texts(value) -> list[str]:
    if isinstance(value, dict):
        if "message" in value:
            return _texts(value["message"])
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return [" ".join(strip_tags(str(value)).split())]
