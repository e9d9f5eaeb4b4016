from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`{"count", "next", "previous", "results"}`, limit 100 by default and 1000 at most.

    An unordered queryset would page unpredictably (rows may repeat or vanish between pages), so one
    without an order is ordered by primary key here, whatever the view forgot.
    """

    default_limit = 100
    max_limit = 1000

    def paginate_queryset(self, queryset, request, view=None):
        if hasattr(queryset, "ordered") and not queryset.ordered:
            queryset = queryset.order_by("pk")
        return super().paginate_queryset(queryset, request, view)
