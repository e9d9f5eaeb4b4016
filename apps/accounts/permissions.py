"""The one permission table: what each fleet role may do on each resource.

The API's viewsets, the operator console (through `MembershipPermissionBackend` and the admin classes) and
the pairing form all ask this module; nothing else names roles. A resource is a model label
("screens.screen"); an action is `view`, `add`, `change`, `delete`, or the name of an API action
(`pair`, `command`, `give`, ...). A request whose action has no rule here is refused, and
`tests/accounts/test_permission_matrix.py` fails for any route of the router without one.

Who sees every fleet (superusers, the operator's staff holding `accounts.view_every_fleet`) acts as a
fleet admin everywhere (`scoping.role_in`).
"""

from django.core.exceptions import ImproperlyConfigured

from .models import Role

NOBODY: frozenset[str] = frozenset()
EVERYONE = frozenset(Role.values)
CONTENT = frozenset({Role.ADMIN, Role.EDITOR})  # the fleet's content people
ADMINS = frozenset({Role.ADMIN})
PLAYERS = frozenset({Role.ADMIN, Role.EDITOR, Role.TECHNICIAN})  # who installs and drives players

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
MODEL_ACTIONS = (VIEW, ADD, CHANGE, DELETE)

RULES: dict[str, dict[str, frozenset[str]]] = {
    # A fleet's settings (plan limit, share of voice, storage) are the operator's: members only read them.
    "accounts.fleet": {VIEW: EVERYONE},
    "accounts.membership": {VIEW: ADMINS},
    "places.place": {VIEW: EVERYONE, ADD: CONTENT, CHANGE: CONTENT, DELETE: ADMINS},
    "screens.screen": {VIEW: EVERYONE, ADD: ADMINS, CHANGE: CONTENT, DELETE: ADMINS},
    # Groups and types are the fleet admins' to shape.
    "screens.screengroup": {VIEW: EVERYONE, ADD: ADMINS, CHANGE: ADMINS, DELETE: ADMINS},
    "screens.screentype": {VIEW: EVERYONE, ADD: ADMINS, CHANGE: ADMINS, DELETE: ADMINS},
    "media.media": {
        VIEW: EVERYONE,
        ADD: CONTENT,
        CHANGE: CONTENT,
        DELETE: CONTENT,
        "transform": CONTENT,
        "to_external_storage": CONTENT,
        "file_to_external_storage": CONTENT,
    },
    "ads.ad": {VIEW: EVERYONE, ADD: CONTENT, CHANGE: CONTENT, DELETE: CONTENT, "give": CONTENT},
    "ads.broadcast": {VIEW: EVERYONE, ADD: CONTENT, CHANGE: CONTENT, DELETE: CONTENT},
    "ads.quotaoverflow": {VIEW: EVERYONE},
    "devices.device": {
        VIEW: EVERYONE,
        CHANGE: PLAYERS,
        DELETE: ADMINS,
        "pair": PLAYERS,
        "command": PLAYERS,
        "commands": EVERYONE,
        "telemetry": EVERYONE,
        "telemetry_history": EVERYONE,
        "command_counts": EVERYONE,
        "lock": PLAYERS,
        "unlock": PLAYERS,
        "tags": EVERYONE,
        "tag_assign": PLAYERS,
        "tag_unassign": PLAYERS,
        "policies": EVERYONE,
        "policy_assign": PLAYERS,
        "policy_unassign": PLAYERS,
        "effective_settings": EVERYONE,
        "screenshots": EVERYONE,
        "policy_status": EVERYONE,
        "power_schedule": EVERYONE,
        "power_schedule_set": PLAYERS,
        "power_schedule_from_opening_hours": PLAYERS,
    },
    "devices.screenshot": {VIEW: EVERYONE},  # shown on the device and screen pages
    # Tags sort players: whoever drives players shapes them. Policies set what players do: fleet admins
    # write them, whoever drives players assigns them (above).
    "devices.tag": {VIEW: EVERYONE, ADD: PLAYERS, CHANGE: PLAYERS, DELETE: PLAYERS},
    "devices.policy": {VIEW: EVERYONE, ADD: ADMINS, CHANGE: ADMINS, DELETE: ADMINS, "clone": ADMINS},
    "devices.devicetag": {VIEW: EVERYONE},
    "devices.devicepolicy": {VIEW: EVERYONE},
    # Provisions pair players with screens: whoever installs and drives players writes them.
    "devices.provision": {VIEW: EVERYONE, ADD: PLAYERS, CHANGE: PLAYERS, DELETE: PLAYERS},
    "devices.devicecommand": {VIEW: EVERYONE},  # shown on the device page
}


def register(resource: str, rules: dict[str, frozenset[str]]) -> None:
    """Add the rules of a resource of an app that arrives later (its AppConfig.ready calls this)."""
    RULES[resource] = rules


def resource_of(model) -> str:
    return model._meta.label_lower


def roles_for(resource: str, action: str) -> frozenset[str]:
    """The roles allowed to do `action` on `resource`. An unknown resource is a programming error; an
    action the resource does not list is allowed to nobody."""
    try:
        rules = RULES[resource]
    except KeyError:
        raise ImproperlyConfigured(f"No permission rules for {resource!r} in apps/accounts/permissions.py") from None
    return rules.get(action, NOBODY)


def has_rule(resource: str, action: str) -> bool:
    return action in RULES.get(resource, {})


def allows(role: str | None, resource: str, action: str) -> bool:
    return role is not None and role in roles_for(resource, action)


def model_permissions(roles) -> set[str]:
    """Django permission names (`app.action_model`) that `roles` give, for the console."""
    granted = set()
    for resource, rules in RULES.items():
        app_label, model_name = resource.split(".")
        for action in MODEL_ACTIONS:
            if rules.get(action, NOBODY) & set(roles):
                granted.add(f"{app_label}.{action}_{model_name}")
    return granted


# DRF's viewset actions as the table's actions; other (extra) actions are named in the table as they are.
VIEWSET_ACTIONS = {
    "list": VIEW,
    "retrieve": VIEW,
    "metadata": VIEW,
    "create": ADD,
    "update": CHANGE,
    "partial_update": CHANGE,
    "destroy": DELETE,
}
