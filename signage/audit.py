"""Who changed what, when, and through which door: the context of django-auditlog's entries (one table
for every model; the models are registered by apps.console.audit).

auditlog's middleware knows the session user only; API principals are authenticated by DRF inside the
view, after it, so the API's authentication classes call `record_principal`. The door (api, console,
pairing form, player, task) is kept in each entry's `additional_data`.
"""

from auditlog.context import auditlog_value, set_extra_data
from auditlog.middleware import AuditlogMiddleware

DOORS = (
    ("/api/device/", "player"),
    ("/api/", "api"),
    ("/admin/", "console"),
    ("/pair/", "pairing form"),
    ("/player/", "player"),
    ("/remote/", "remote call"),
)


def door_of(path: str) -> str:
    return next((door for prefix, door in DOORS if path.startswith(prefix)), "web")


class AuditMiddleware(AuditlogMiddleware):
    def get_extra_data(self, request):
        data = super().get_extra_data(request)
        data["additional_data"] = {"door": door_of(request.path)}
        return data

    def __call__(self, request):
        try:
            return super().__call__(request)
        finally:
            # auditlog leaves the request's context in the thread; a later task or command must not
            # inherit its actor. (A context that no receiver matches: auditlog's receivers, connected
            # globally by requests of other threads, compare their id with it.)
            auditlog_value.set({"signal_duid": None})


def _current() -> dict | None:
    try:
        context = auditlog_value.get()
    except LookupError:
        return None
    return context if context and context.get("signal_duid") else None


def record_principal(user=None, **details) -> None:
    """Make `user` (and `details`, e.g. the OAuth2 application or the device) the author of what the rest
    of the request changes."""
    context = _current()
    if context is None:
        return
    if user is not None and user.is_authenticated:
        context["actor"] = user
    if details:
        context["additional_data"] = {**context.get("additional_data", {}), **details}


def task_context(task_name: str):
    """The audit context of a Celery task: door `task`, the enclosing actor kept when run eagerly."""
    actor = (_current() or {}).get("actor")
    return set_extra_data({"actor": actor, "additional_data": {"door": "task", "task": task_name}})
