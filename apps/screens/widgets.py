"""Console editors for the screens app's JSON fields: week hours as a grid (days x ranges) and allocated
times as one number per advertiser type. They store the same JSON as the API, validated by the same
functions (`hours.clean_week_hours`, `services.allocated_times_clean`)."""

import json

from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.models import AdvertiserType
from signage.bounds import is_ascii_digits

from .hours import DAYS, clean_week_hours

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WeekHoursWidget(forms.Widget):
    """One row per weekday, each with start-end pairs (HH:MM), and one spare pair to add a range."""

    template_name = "screens/widgets/week_hours.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if isinstance(value, str):  # a JSON text sent back with an error
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        week = value if isinstance(value, dict) else {}
        slots = max([len(week.get(day) or []) for day in DAYS] + [1]) + 1
        rows = []
        for day, label in zip(DAYS, DAY_NAMES, strict=True):
            ranges = [[*pair, "", ""] for pair in (week.get(day) or [])]
            cells = [
                {"start": pair[0] if index < len(ranges) else "", "end": pair[1] if index < len(ranges) else ""}
                for index, pair in enumerate(ranges + [["", ""]] * (slots - len(ranges)))
            ]
            rows.append({"day": day, "label": label, "cells": [(f"{name}_{day}_{i}", c) for i, c in enumerate(cells)]})
        context["widget"].update(rows=rows, slots=range(slots))
        return context

    def value_from_datadict(self, data, files, name):
        if name in data:  # a JSON text, as a script or the API would send it
            return data[name]
        week = {}
        for day in DAYS:
            index, ranges = 0, []
            while f"{name}_{day}_{index}_start" in data:
                start = (data.get(f"{name}_{day}_{index}_start") or "").strip()
                end = (data.get(f"{name}_{day}_{index}_end") or "").strip()
                if start or end:
                    ranges.append([start, end])
                index += 1
            if ranges:
                week[day] = ranges
        return week

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}_1_0_start" not in data


class WeekHoursField(forms.Field):
    widget = WeekHoursWidget

    def to_python(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValidationError("Expected week hours as JSON.", code="invalid") from None
        return clean_week_hours(value if value is not None else {})

    def has_changed(self, initial, data):
        try:
            return clean_week_hours(initial or {}) != self.to_python(data)
        except ValidationError:
            return True


class AllocatedTimesWidget(forms.Widget):
    """Seconds per advertiser type: one number field per type the fleet offers."""

    template_name = "screens/widgets/allocated_times.html"

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = kinds

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        given = value if isinstance(value, dict) else {}
        kinds = list(self.kinds if self.kinds is not None else AdvertiserType.objects.all())
        context["widget"]["kinds"] = [
            {"name": f"{name}_{kind.pk}", "label": kind.name.capitalize(), "value": given.get(str(kind.pk), "")}
            for kind in kinds
        ]
        return context

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data[name]
        prefix = f"{name}_"
        values = {}
        for key, text in data.items():
            if key.startswith(prefix) and str(text).strip() != "":
                text = str(text).strip()
                values[key[len(prefix) :]] = int(text) if is_ascii_digits(text.lstrip("-")) else text
        return values

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(key.startswith(f"{name}_") for key in data)


class AllocatedTimesField(forms.Field):
    """The raw mapping; the screens services validate it against the fleet (allocated_times_clean)."""

    widget = AllocatedTimesWidget

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValidationError("Expected allocated times as JSON.", code="invalid") from None
        return value or {}

    def has_changed(self, initial, data):
        try:
            return (initial or {}) != self.to_python(data)
        except ValidationError:
            return True
