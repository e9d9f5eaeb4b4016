import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A 403 is an expected answer: one log line, not the PermissionDenied traceback Django attaches."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
