from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from apps.accounts import permissions, scoping

from .flex import plan_queryset
from .permissions import FleetRolePermission, OAuth2ScopePermission


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
