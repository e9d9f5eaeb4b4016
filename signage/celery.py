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

    context = task_context(task.name)
    context.__enter__()
    _audit_contexts[task_id] = context


@task_postrun.connect
def _leave_audit_context(task_id=None, **kwargs):
    context = _audit_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)
