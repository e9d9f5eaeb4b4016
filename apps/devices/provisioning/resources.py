"""CSV import of provisions (django-import-export, from the console).

Columns: `serial_number`, `screen` (the screen's id), `name`, `barcode`, `sticker`, `tags` and `policies`
(ids of the fleet's tags and policies, separated by commas, semicolons or spaces). A row's fleet is its
screen's, and the screen must be one of the importing user's fleets where their role may provision players
(any other id, another fleet's included, is an error on that row). A serial number already provisioned in
that fleet updates that provision (unless it was applied: an error). Every row goes through the same
services as the API; the import is all or nothing: one bad row and nothing is written. What the rows name
(screens, provisions already there, tags, policies) is read once for the whole file, one query each.
"""

import re

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from apps.accounts import permissions, scoping
from apps.screens.models import Screen

from ..policies.models import Policy, Tag
from .models import Provision
from .services import normalize_serial, provision_create, provision_update

COLUMNS = ("serial_number", "screen", "name", "barcode", "sticker")
RELATED = {"tags": Tag, "policies": Policy}
SEPARATORS = re.compile(r"[,;\s]+")
ID = re.compile(r"^[0-9]{1,18}$")


class ScreenWidget(widgets.ForeignKeyWidget):
    """A screen by id, among the screens of the fleets where `user` may provision players."""

    def __init__(self):
        super().__init__(Screen, field="pk")
        self.user = None
        self.screens: dict[int, Screen] | None = None  # the file's screens, read at once by `load`

    def get_queryset(self, value, row, *args, **kwargs):
        roles = permissions.roles_for("devices.provision", permissions.ADD)
        return scoping.scope_queryset(Screen.objects.select_related("fleet"), self.user, roles)

    def load(self, cells) -> None:
        ids = {_screen_id(cell) for cell in cells} - {None}
        self.screens = {screen.pk: screen for screen in self.get_queryset(None, None).filter(pk__in=ids)}

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            raise ValueError("A screen id is required.")
        if self.screens is not None:
            screen = self.screens.get(_screen_id(text))
            if screen is None:
                raise ValueError(f"No screen with the id '{text[:40]}' in your fleets.")
            return screen
        try:
            return super().clean(text, row, **kwargs)
        except (Screen.DoesNotExist, ValidationError, ValueError):
            raise ValueError(f"No screen with the id '{text[:40]}' in your fleets.") from None


class ProvisionResource(resources.ModelResource):
    screen = fields.Field(attribute="screen", column_name="screen", widget=ScreenWidget())
    # Read by import_instance: their ids are looked up in the row's fleet (known from its screen).
    tags = fields.Field(column_name="tags")
    policies = fields.Field(column_name="policies")

    class Meta:
        model = Provision
        fields = (*COLUMNS, "tags", "policies")
        import_id_fields = ("serial_number",)
        clean_model_instances = False  # the services validate
        use_transactions = True

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["screen"].widget.user = user
        self.rows_by_key: dict[tuple[int, str], int] = {}
        self.related: dict[tuple[int, str], list | None] = {}  # (id of the row's instance, column) -> objects
        self.existing: dict[tuple[int, str], Provision] | None = None  # (fleet id, serial number) -> provision
        self.named: dict[str, dict] = {}  # column -> {id: tag or policy} of the file's fleets

    def before_import(self, dataset, **kwargs):
        """Read what the file names, one query per kind: its screens (among the user's), then in their fleets
        the provisions of its serial numbers and the tags and policies of its ids."""
        super().before_import(dataset, **kwargs)
        headers = set(dataset.headers or ())
        widget = self.fields["screen"].widget
        widget.load(dataset["screen"] if "screen" in headers else [])
        fleet_ids = {screen.fleet_id for screen in widget.screens.values()}
        serials = {normalize_serial(cell) for cell in dataset["serial_number"]} if "serial_number" in headers else set()
        provisions = Provision.objects.of_fleets(fleet_ids).filter(serial_number__in=serials - {""})
        self.existing = {(provision.fleet_id, provision.serial_number): provision for provision in provisions}
        for name, model in RELATED.items():
            texts = [text for cell in (dataset[name] if name in headers else []) for text in _ids(cell)]
            ids = {int(text) for text in texts if ID.match(text)}
            self.named[name] = {obj.pk: obj for obj in model.objects.of_fleets(fleet_ids).filter(pk__in=ids)}

    def _screen(self, row):
        try:
            return self.fields["screen"].widget.clean(row.get("screen"), row)
        except ValueError:
            return None

    def get_instance(self, instance_loader, row):
        """The provision of the row's screen's fleet with the row's serial number, if there is one."""
        screen, serial = self._screen(row), normalize_serial(row.get("serial_number"))
        if screen is None or not serial:
            return None
        if self.existing is not None:
            return self.existing.get((screen.fleet_id, serial))
        return Provision.objects.of_fleet(screen.fleet_id).filter(serial_number=serial).first()

    def import_instance(self, instance, row, **kwargs):
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if instance.screen_id is not None:
            instance.fleet_id = instance.screen.fleet_id
            for name, model in RELATED.items():
                try:
                    self.related[id(instance), name] = self._related(name, model, instance.fleet_id, row.get(name))
                except ValueError as error:
                    errors.setdefault(name, []).append(ValidationError(str(error)))
            key = (instance.fleet_id, normalize_serial(instance.serial_number))
            first = self.rows_by_key.setdefault(key, kwargs.get("row_number"))
            if first != kwargs.get("row_number"):
                errors.setdefault("serial_number", []).append(
                    ValidationError(f"This serial number is on row {first} of the file already.")
                )
        if errors:
            raise ValidationError(errors)

    def _related(self, name: str, model, fleet_id: int, cell):
        """The fleet's objects named by the ids in `cell` (None: the column is absent, nothing changes); the
        fleet is the row's screen's, one of the importing user's."""
        if cell is None:
            return None
        texts = _ids(cell)
        if not all(ID.match(text) for text in texts):
            raise ValueError("Expected ids (whole numbers) separated by commas.")
        named = self.named.get(name)
        if named is None:
            named = {obj.pk: obj for obj in model.objects.of_fleet(fleet_id).filter(pk__in=[int(t) for t in texts])}
        found = {pk: obj for pk, obj in named.items() if obj.fleet_id == fleet_id}
        missing = [text for text in texts if int(text) not in found]
        if missing:
            raise ValueError(f"No {model._meta.verbose_name} with the id {missing[0]} in the screen's fleet.")
        return list({int(text): found[int(text)] for text in texts}.values())

    def save_instance(self, instance, is_create, row, **kwargs):
        values = {name: getattr(instance, name) for name in COLUMNS}
        for name in RELATED:
            values[name] = self.related.pop((id(instance), name), None)
        if is_create:
            saved = provision_create(fleet=instance.screen.fleet, **values)
        else:
            saved = provision_update(provision=instance, **values)
        instance.pk = saved.pk


def _ids(cell) -> list[str]:
    return [text for text in SEPARATORS.split(str(cell or "")) if text]


def _screen_id(cell):
    """A screen's id (a UUID) from a cell, or None."""
    try:
        return Screen._meta.pk.to_python(str(cell or "").strip())
    except ValidationError:
        return None
