from django.core.exceptions import ValidationError


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    """A business-rule error on one field, as services raise it (rendered `{field: [{message, code}]}`)."""
    return ValidationError({field: ValidationError(message, code=code)})
