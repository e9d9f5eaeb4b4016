"""The API bases every app's viewsets, serializers and filter sets build on: tenancy first.

- Querysets are cut to the principal's fleets before anything else (another fleet's object is a 404).
- Relations in payloads and filters only find objects of the user's fleets (another fleet's id is a 400
  "does not exist", exactly like an id that exists nowhere).
- What the principal's role in the object's fleet allows is the permission table's answer
  (apps/accounts/permissions.py).

They live in `accounts`, which owns fleets and scoping; the fleet-blind plumbing they use (field
selection, hyperlinks, strict filters, errors) is `signage.api`'s, which imports no app. The filter sets
are in .filters (REST_FRAMEWORK's settings import their backend while DRF's generics load, before viewsets
could be imported).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.validators import BaseUniqueForValidator, UniqueTogetherValidator, UniqueValidator
from rest_framework.views import APIView

from signage.api.flex import expandable_names, plan_queryset
from signage.api.permissions import OAuth2ScopePermission
from signage.api.serializers import HyperlinkedIdentityField, TemplatedHyperlinkMixin, WholeWhenNestedMixin
from signage.bounds import DAY_VALIDATORS, INTEGER_RANGES
from signage.scopes import FleetManager, FleetQuerySet

from .. import permissions, scoping
from .filters import DjangoFilterBackend, FilterSet

__all__ = [
    "DjangoFilterBackend",
    "FilterSet",
    "FleetOwnedSerializer",
    "FleetRolePermission",
    "FleetScopedAPIView",
    "FleetScopedMixin",
    "ModelSerializer",
    "ModelViewSet",
    "OnlyFleetDefault",
    "ReadOnlyModelViewSet",
    "ScopedHyperlinkedRelatedField",
]

# --- permissions and viewsets ---------------------------------------------------------------------------


class FleetRolePermission(BasePermission):
    """Writes need a role that the permission table allows for the view's action in the object's fleet;
    reads only membership (the table gives `view` to every role).

    Objects outside the user's fleets never get here: the scoped queryset already answered 404.
    """

    message = "Your role in this fleet does not allow this action."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        role = scoping.role_in(request.user, scoping.fleet_of(obj))
        return permissions.allows(role, view.resource, view.permission_action)


class FleetScopedMixin:
    """Tenancy and field selection for every API viewset.

    The queryset is cut to the principal's fleets before anything else (another fleet's object is a
    404), and on reads it is trimmed to the fields the request selected (`fields=`, `omit=`, `expand=`).
    What the principal's role in the object's fleet allows is read from the permission table
    (apps/accounts/permissions.py) for the viewset's model and action.
    """

    permission_classes = [IsAuthenticated, OAuth2ScopePermission, FleetRolePermission]

    @property
    def resource(self) -> str:
        return permissions.resource_of(self.queryset.model)

    @property
    def permission_action(self) -> str:
        """The table's action for this request: the viewset action, with the CRUD ones as model actions."""
        return permissions.VIEWSET_ACTIONS.get(self.action, self.action)

    def require_role(self, fleet, action: str | None = None) -> None:
        """403 unless the user's role in `fleet` (already known to be one of theirs) allows `action`."""
        role = scoping.role_in(self.request.user, fleet.pk)
        if not permissions.allows(role, self.resource, action or self.permission_action):
            raise PermissionDenied("Your role in this fleet does not allow this action.")

    def perform_create(self, serializer):
        fleet = serializer.validated_data.get("fleet")
        if fleet is not None:
            self.require_role(fleet, permissions.ADD)
        serializer.save()

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        queryset = scoping.scope_queryset(queryset, self.request.user)
        if self.request.method == "GET" and issubclass(self.get_serializer_class(), FlexFieldsSerializerMixin):
            queryset = plan_queryset(queryset, self.get_serializer())
        return queryset


class FleetScopedAPIView(APIView):
    """An API view that is not a model viewset (a loop, uptime, signed URLs) over fleet-owned objects: it
    reads them through `scoped()`, the same cut as the viewsets' querysets."""

    def scoped(self, queryset):
        return scoping.scope_queryset(queryset, self.request.user)

    def get_scoped_object(self, queryset, **lookup):
        """The principal's object (another fleet's is a 404, as in the viewsets)."""
        return get_object_or_404(self.scoped(queryset), **lookup)


class ReadOnlyModelViewSet(FleetScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ModelViewSet(FleetScopedMixin, viewsets.ModelViewSet):
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]


# --- serializers ----------------------------------------------------------------------------------------

UNIQUENESS_VALIDATORS = (UniqueValidator, UniqueTogetherValidator, BaseUniqueForValidator)


class ScopedHyperlinkedRelatedField(TemplatedHyperlinkMixin, serializers.HyperlinkedRelatedField):
    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if queryset is None or getattr(queryset.model, "fleet_lookup", None) is None:
            return queryset
        return scoping.scope_queryset(queryset, request.user if request else None)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, int) or (isinstance(data, str) and data and "/" not in data):
            try:
                return self.get_queryset().get(pk=data)
            except (self.get_queryset().model.DoesNotExist, ValueError, TypeError, DjangoValidationError):
                self.fail("does_not_exist")
        return super().to_internal_value(data)


class ModelSerializer(WholeWhenNestedMixin, FlexFieldsSerializerMixin, serializers.HyperlinkedModelSerializer):
    serializer_related_field = ScopedHyperlinkedRelatedField
    serializer_url_field = HyperlinkedIdentityField

    def apply_flex_fields(self, fields, flex_options):
        """`fields=` and `omit=` name fields this serializer has (a 400 otherwise, where drf-flex-fields
        would answer objects without them, even `{}`); an empty value selects nothing out."""
        flex_options = {
            key: [name for name in values if name] if key in ("fields", "omit") else values
            for key, values in flex_options.items()
        }
        known = set(fields) | expandable_names(self)
        for key in ("fields", "omit"):
            unknown = sorted({name.split(".")[0] for name in flex_options.get(key, [])} - known)
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Unknown field '{unknown[0]}'. Fields: {', '.join(sorted(known))}."]}, code="invalid"
                )
        return super().apply_flex_fields(fields, flex_options)

    def build_field(self, field_name, info, model_class, nested_depth):
        # `id` is a plain read-only field beside `url`, as in reference 000's payloads.
        if field_name == "id":
            return serializers.ReadOnlyField, {}
        return super().build_field(field_name, info, model_class, nested_depth)

    def build_standard_field(self, field_name, model_field):
        """Whole numbers within the column's range on PostgreSQL, days within signage.bounds, whatever
        the database at hand: a value no column can hold is a 400 (and the schema says the bounds)."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        low_high = INTEGER_RANGES.get(model_field.get_internal_type())
        if low_high is not None and "choices" not in kwargs:
            low, high = low_high
            kwargs["min_value"] = max(kwargs.get("min_value", low), low)
            kwargs["max_value"] = min(kwargs.get("max_value", high), high)
        if model_field.get_internal_type() == "DateField" and not any(
            v in model_field.validators for v in DAY_VALIDATORS
        ):
            kwargs["validators"] = [*kwargs.get("validators", []), *DAY_VALIDATORS]
        if "validators" in kwargs:
            kwargs["validators"] = [_table_wide(validator) for validator in kwargs["validators"]]
        return field_class, kwargs

    def get_validators(self):
        return [_table_wide(validator) for validator in super().get_validators()]


def _table_wide(validator):
    """DRF's uniqueness validators read the whole table (as the database's constraint does): a deliberate
    cross-fleet read (signage/scopes.py)."""
    queryset = getattr(validator, "queryset", None)
    if isinstance(validator, UNIQUENESS_VALIDATORS) and isinstance(queryset, FleetQuerySet | FleetManager):
        validator.queryset = queryset.unscoped("uniqueness is checked across the whole table")
    return validator


class OnlyFleetDefault:
    """Default of a `fleet` field on create: the requesting user's fleet, when they have exactly one;
    otherwise the client must say which. (Whether their role there allows the creation is the view's
    question, answered with a 403.)"""

    requires_context = True

    def __call__(self, field):
        request = field.context.get("request")
        fleets = list(scoping.fleets_of(request.user if request else None)[:2])
        if len(fleets) != 1:
            raise serializers.ValidationError("This field is required.", code="required")
        return fleets[0]


class FleetOwnedSerializer(ModelSerializer):
    """For objects that belong to one fleet: `fleet` is set on create (defaulting to the user's only
    fleet) and never changes afterwards."""

    def get_fields(self):
        fields = super().get_fields()
        if "fleet" in fields and not fields["fleet"].read_only:
            fields["fleet"].default = OnlyFleetDefault()
            fields["fleet"].required = False
        return fields

    def validate_fleet(self, fleet):
        if self.instance is not None and fleet.pk != self.instance.fleet_id:
            raise serializers.ValidationError("An object cannot move to another fleet.", code="invalid")
        return fleet
