"""The console's sidebar, by domain, from `settings.SIGNAGE_CONSOLE_NAVIGATION`.

Each section lists model labels; a model that is not registered in the admin, or that the user may not
view, is left out, so an app that arrives later adds its models to the setting (or already listed
labels appear once its admin exists).
"""

from django.conf import settings
from django.contrib import admin
from django.urls import reverse


def navigation(request) -> list[dict]:
    registry = {model._meta.label_lower: (model, model_admin) for model, model_admin in admin.site._registry.items()}
    sections = []
    for title, icon, labels in settings.SIGNAGE_CONSOLE_NAVIGATION:
        items = []
        for label in labels:
            if label not in registry:
                continue
            model, model_admin = registry[label]
            meta = model._meta
            items.append(
                {
                    "title": str(meta.verbose_name_plural).capitalize(),
                    "icon": icon,
                    "link": reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
                    "permission": lambda request, model_admin=model_admin: model_admin.has_view_or_change_permission(
                        request
                    ),
                }
            )
        if items:
            sections.append({"title": title, "separator": True, "collapsible": False, "items": items})
    return sections
