"""Serializer plumbing that knows no fleet: hyperlinks reversed once per view name, nested objects
validated whole. The model serializers every app uses, with relations scoped to the user's fleets, are
built on these in apps/accounts/api/base.py."""

from urllib.parse import quote

from django.urls import NoReverseMatch
from rest_framework import serializers

PLACEHOLDER = "0lookup0"  # stands for the lookup value in a reversed URL (the routers' lookups take it)


class TemplatedHyperlinkMixin:
    """Hyperlinks from one `reverse()` per view name and request: the URL is reversed once with a
    placeholder, then each row's lookup value takes its place (a page of 1,000 screens spent a third of
    its time in `reverse()`). A URL the placeholder does not fit is reversed row by row, as DRF does."""

    def get_url(self, obj, view_name, request, format):
        if hasattr(obj, "pk") and obj.pk in (None, ""):
            return None
        templates = self.context.setdefault("_url_templates", {}) if isinstance(self.context, dict) else {}
        key = (view_name, self.lookup_url_kwarg, format, request is not None)
        template = templates.get(key)
        if template is None:
            try:
                template = self.reverse(
                    view_name, kwargs={self.lookup_url_kwarg: PLACEHOLDER}, request=request, format=format
                )
            except NoReverseMatch:
                template = ""
            templates[key] = template = template if template.count(PLACEHOLDER) == 1 else ""
        if not template:
            return super().get_url(obj, view_name, request, format)
        return template.replace(PLACEHOLDER, quote(str(getattr(obj, self.lookup_field)), safe="!$&'()*+,;=~:@"))


class HyperlinkedIdentityField(TemplatedHyperlinkMixin, serializers.HyperlinkedIdentityField):
    pass


# A comment, not a docstring: drf-spectacular would show a docstring as every serializer's description.
class WholeWhenNestedMixin:
    # A nested object is validated exactly as on creation, even in a partial update (PATCH) of its
    # parent: DRF would skip its required fields (they look to the root's `partial`), and store `{}`
    # where an object with required fields belongs.

    def to_internal_value(self, data):
        root = self.root
        if root is self or not getattr(root, "partial", False):
            return super().to_internal_value(data)
        whole = type(self)(*self._args, **{**self._kwargs, "data": data, "partial": False, "context": self.context})
        whole.is_valid(raise_exception=True)
        return whole.validated_data


class Serializer(WholeWhenNestedMixin, serializers.Serializer):
    pass
