from rest_flex_fields.serializers import FlexFieldsSerializerMixin
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from apps.accounts import scoping

from .flex import plan_queryset
from .permissions import FleetRolePermission, OAuth2ScopePermission


class FleetScopedMixin:
    """Tenancy and field selection for every API viewset.

    The queryset is cut to the principal's fleets before anything else (another fleet's object is a
    404), and on reads it is trimmed to the fields the request selected (`fields=`, `omit=`, `expand=`).
    Writes need one of `write_roles` in the object's fleet.
    """

    permission_classes = [IsAuthenticated, OAuth2ScopePermission, FleetRolePermission]
    write_roles = scoping.WRITE_ROLES

    # Roles needed to change an object, and to create or delete one (fleet admins by default).
    create_roles = scoping.ADMIN_ROLES
    delete_roles = scoping.ADMIN_ROLES

    def get_write_roles(self):
        return self.delete_roles if self.action == "destroy" else self.write_roles

    def require_role(self, fleet, roles) -> None:
        """403 unless the user holds one of `roles` in `fleet` (already known to be one of theirs)."""
        if scoping.role_in(self.request.user, fleet.pk) not in roles:
            raise PermissionDenied("Your role in this fleet does not allow this action.")

    def perform_create(self, serializer):
        fleet = serializer.validated_data.get("fleet")
        if fleet is not None:
            self.require_role(fleet, self.create_roles)
        serializer.save()

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        queryset = scoping.scope_queryset(queryset, self.request.user)
        if self.request.method == "GET" and issubclass(self.get_serializer_class(), FlexFieldsSerializerMixin):
            queryset = plan_queryset(queryset, self.get_serializer())
        return queryset


class ReadOnlyModelViewSet(FleetScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ModelViewSet(FleetScopedMixin, viewsets.ModelViewSet):
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
