"""The statistics API (/api/statistics/v2/, reference 000 "Display statistics"): raw displays and
aggregates, as JSON pages or as CSV streamed row by row. Same authentication, tenancy, rate limits and
error shapes as the management API; every query is keyed by the principal's fleets."""

import csv
import io
import itertools
import json

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from .. import selectors
from .serializers import (
    AggregatePageSerializer,
    AggregatesQuerySerializer,
    DisplayPageSerializer,
    DisplaysQuerySerializer,
)


class CSVRenderer(BaseRenderer):
    """Lets `Accept: text/csv` and `format=csv` through content negotiation; the views stream the CSV
    themselves (a StreamingHttpResponse is never rendered)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


CSV_BATCH = 1000  # rows written and sent together (one chunk each, not a chunk and a write per row)


def stream_csv(header, rows, filename: str) -> StreamingHttpResponse:
    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        rows_left = iter(rows)
        while batch := list(itertools.islice(rows_left, CSV_BATCH)):
            writer.writerows(batch)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():  # the header of an empty export
            yield buffer.getvalue()

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class StatisticsView(APIView):
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    query_serializer_class = DisplaysQuerySerializer

    def handle_exception(self, exc):
        # Errors are JSON in the API's shapes, even when CSV was asked for.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)

    def read_query(self):
        data = {key: ",".join(values) for key, values in self.request.query_params.lists()}
        incoming = self.query_serializer_class(data=data)
        incoming.is_valid(raise_exception=True)
        return incoming

    def wants_csv(self, incoming) -> bool:
        return (
            incoming.validated_data.get("format") == "csv"
            or getattr(self.request.accepted_renderer, "format", None) == "csv"
        )


CSV_RESPONSE = OpenApiResponse(response=OpenApiTypes.STR, description="CSV with a header row (streamed)")


class DisplaysView(StatisticsView):
    """Raw displays in a bounded range, filtered, newest (or oldest) first, by cursor pages that stay
    stable while events arrive; `format=csv` (or `Accept: text/csv`) streams every row of the range."""

    @extend_schema(
        parameters=[DisplaysQuerySerializer],
        responses={(200, "application/json"): DisplayPageSerializer, (200, "text/csv"): CSV_RESPONSE},
    )
    def get(self, request):
        incoming = self.read_query()
        query, data = incoming.query(request.user), incoming.validated_data
        newest_first = data["ordering"] == "-started_at"
        if self.wants_csv(incoming):
            return stream_csv(
                selectors.DISPLAY_COLUMNS, selectors.displays_rows(query, newest_first=newest_first), "displays.csv"
            )
        rows, next_cursor = selectors.displays_page(
            query, newest_first=newest_first, limit=data["limit"], after=data.get("cursor")
        )
        next_url = None
        if next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
        return Response({"next": next_url, "results": rows})


class AggregatesView(StatisticsView):
    """Counts, total durations and distinct screens grouped by screen, campaign, media, place, screen
    group, date, hour and/or weekday (dates and hours in each screen's timezone, or `tz`). Exact in real
    time: an event acknowledged by the player protocol is counted on the next request."""

    query_serializer_class = AggregatesQuerySerializer

    @extend_schema(
        parameters=[AggregatesQuerySerializer],
        responses={(200, "application/json"): AggregatePageSerializer, (200, "text/csv"): CSV_RESPONSE},
    )
    def get(self, request):
        incoming = self.read_query()
        query, data = incoming.query(request.user), incoming.validated_data
        group_by = data.get("group_by") or []
        if self.wants_csv(incoming):
            columns = selectors.aggregate_columns(group_by)
            rows = ([row.get(column) for column in columns] for row in selectors.aggregates_rows(query, group_by))
            return stream_csv(columns, rows, "aggregates.csv")
        limit, offset = data["limit"], data["offset"]
        written = None
        if getattr(request.accepted_renderer, "format", None) == "json":
            written = selectors.aggregates_json(query, group_by, limit=limit, offset=offset)
        if written is not None:  # the page as PostgreSQL wrote it, in the JSON renderer's compact shape
            results, more = written
            next_url = replace_query_param(request.build_absolute_uri(), "offset", offset + limit) if more else None
            body = f'{{"next":{json.dumps(next_url)},"results":{results}}}'
            return HttpResponse(body, content_type="application/json")
        rows = selectors.aggregates(query, group_by, limit=limit + 1, offset=offset)
        next_url = None
        if len(rows) > limit:
            next_url = replace_query_param(request.build_absolute_uri(), "offset", offset + limit)
        return Response({"next": next_url, "results": rows[:limit]})
