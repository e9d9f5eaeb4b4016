import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")

app = Celery("signage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_audit_contexts: dict = {}


@task_prerun.connect
def _enter_audit_context(task_id=None, task=None, **kwargs):
    from signage.audit import task_context
    from signage.scopes import fleet_guard

    # A task runs as the operator, across fleets, also when run eagerly inside a request.
    contexts = [task_context(task.name), fleet_guard(False)]
    for context in contexts:
        context.__enter__()
    _audit_contexts[task_id] = contexts


@task_postrun.connect
def _leave_audit_context(task_id=None, **kwargs):
    for context in reversed(_audit_contexts.pop(task_id, [])):
        context.__exit__(None, None, None)
