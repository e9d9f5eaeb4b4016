from rest_framework import filters


class OrderingFilter(filters.OrderingFilter):
    """`ordering=` only on the fields a view lists in `ordering_fields` (never on any serializer field,
    which could be a relation or an unindexed text column chosen by the client)."""

    def get_valid_fields(self, queryset, view, context=None):
        if getattr(view, "ordering_fields", None) is None:
            return []
        return super().get_valid_fields(queryset, view, context or {})
