"""Tags, policies and their assignment to players: every write goes through here (API, console, bulk
operations, provisioning). Assignments take many players at once and cost a fixed number of queries."""

import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from apps.accounts.models import Fleet
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import field_error

from ..models import Device
from .items import policies_merge, policy_items_clean
from .models import PRIORITY_MAX, PRIORITY_MIN, DevicePolicy, DeviceTag, Policy, Tag

COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
MAX_TAG_DEPTH = 10
TAG_FIELDS = ("name", "color", "parent")

# --- tags -----------------------------------------------------------------------------------------------


def _tag_clean(*, fleet: Fleet, tag: Tag | None, values: dict) -> None:
    color = values.get("color") or ""
    if color and not COLOR_RE.match(color):
        raise field_error("color", "A colour is #RRGGBB, like #1E90FF.")
    parent = values.get("parent")
    if parent is None:
        return
    if parent.fleet_id != fleet.pk:
        raise field_error("parent", "The parent tag belongs to another fleet.", "does_not_exist")
    depth, ancestor = 1, parent
    while ancestor is not None:
        if tag is not None and ancestor.pk == tag.pk:
            raise field_error("parent", "A tag cannot be below itself.", "cycle")
        depth += 1
        if depth > MAX_TAG_DEPTH:
            raise field_error("parent", f"Tags nest at most {MAX_TAG_DEPTH} deep.", "too_deep")
        ancestor = ancestor.parent


def _save_unique(instance, field: str, message: str):
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise field_error(field, message, "unique") from None
    return instance


TAG_TAKEN = "A tag with this name already exists under this parent."


@transaction.atomic
def tag_create(*, fleet: Fleet, name: str, color: str = "", parent: Tag | None = None) -> Tag:
    """A tag of `fleet`; its parent (optional) must be one of the fleet's tags."""
    values = {"name": name, "color": color, "parent": parent}
    _tag_clean(fleet=fleet, tag=None, values=values)
    return _save_unique(Tag(fleet=fleet, **values), "name", TAG_TAKEN)


@transaction.atomic
def tag_update(
    *,
    tag: Tag,
    name: str | Unchanged = UNCHANGED,
    color: str | Unchanged = UNCHANGED,
    parent: Tag | Unchanged | None = UNCHANGED,
) -> Tag:
    """Rename, recolour or move a tag (only the fields given; never below itself)."""
    values = given(name=name, color=color, parent=parent)
    merged = {field: getattr(tag, field) for field in TAG_FIELDS} | values
    _tag_clean(fleet=tag.fleet, tag=tag, values=merged)
    for field, value in values.items():
        setattr(tag, field, value)
    return _save_unique(tag, "name", TAG_TAKEN)


def tag_descendant_ids(tag_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each tag id, itself and the ids of every tag below it (one query over the tags' fleets)."""
    tag_ids = set(tag_ids)
    if not tag_ids:
        return {}
    tags = Tag.objects.unscoped("the tags of the fleets of tags the caller holds")
    rows = tags.filter(fleet__in=Tag.objects.filter(pk__in=tag_ids).values("fleet")).values_list("pk", "parent")
    children: dict[int, list[int]] = {}
    for pk, parent in rows:
        children.setdefault(parent, []).append(pk)
    closure = {}
    for tag_id in tag_ids:
        found, stack = {tag_id}, [tag_id]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        closure[tag_id] = found
    return closure


def with_all_tags(devices, tags: Iterable[Tag]):
    """The players of `devices` that carry every one of `tags`, each tag or any tag below it: the one rule
    for the device list's `tags=` filter and bulk operations' tag filter."""
    tags = list(tags)
    below = tag_descendant_ids(tag.pk for tag in tags)
    for tag in tags:
        devices = devices.filter(Exists(DeviceTag.objects.filter(device=OuterRef("pk"), tag__in=sorted(below[tag.pk]))))
    return devices


# --- policies -------------------------------------------------------------------------------------------


@transaction.atomic
def policy_create(
    *,
    fleet: Fleet,
    name: str,
    description: str = "",
    archived: bool = False,
    items: list | Unchanged = UNCHANGED,
) -> Policy:
    """A policy of `fleet`, its items validated (see `items.py` for each type's value; none when left out)."""
    items = policy_items_clean([] if items is UNCHANGED else items)
    return Policy.objects.create(fleet=fleet, name=name, description=description, archived=archived, items=items)


@transaction.atomic
def policy_update(
    *,
    policy: Policy,
    name: str | Unchanged = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    archived: bool | Unchanged = UNCHANGED,
    items: list | Unchanged = UNCHANGED,
) -> Policy:
    """Change a policy (only the fields given; archiving makes it inactive on every player that has it)."""
    values = given(name=name, description=description, archived=archived, items=items)
    if "items" in values:
        values["items"] = policy_items_clean(values["items"])
    for field, value in values.items():
        setattr(policy, field, value)
    policy.save()
    policy_changed(policy=policy)
    return policy


@transaction.atomic
def policy_delete(*, policy: Policy) -> None:
    """Delete a policy; its players lose it."""
    device_ids = list(policy.device_policies.values_list("device", flat=True))
    fleet_id = policy.fleet_id
    policy.delete()
    devices_settings_changed(fleet_id=fleet_id, device_ids=device_ids)


def policy_set_archived(*, policy: Policy, archived: bool) -> Policy:
    return policy_update(policy=policy, archived=archived)


@transaction.atomic
def policy_clone(*, policy: Policy, name: str, fleet: Fleet | None = None) -> Policy:
    """A copy of `policy` (name, description, items; not archived, assigned to no player) named `name`,
    in `fleet` (default: the policy's own)."""
    return Policy.objects.create(
        fleet=fleet or policy.fleet, name=name, description=policy.description, items=list(policy.items)
    )


# --- assignments ----------------------------------------------------------------------------------------


def _same_fleet(devices: list[Device], fleet_id: int, what: str) -> None:
    if any(device.fleet_id != fleet_id for device in devices):
        raise field_error("devices", f"Every player must belong to the {what}'s fleet.", "does_not_exist")


def _device_list(devices: Iterable[Device]) -> list[Device]:
    return list(devices.only("pk", "fleet") if hasattr(devices, "only") else devices)


@transaction.atomic
def tag_assign(*, tag: Tag, devices: Iterable[Device]) -> int:
    """Tag `devices` (players of the tag's fleet) with `tag`; already tagged ones are left as they are.
    Returns the number of players."""
    devices = _device_list(devices)
    _same_fleet(devices, tag.fleet_id, "tag")
    DeviceTag.objects.bulk_create([DeviceTag(device=device, tag=tag) for device in devices], ignore_conflicts=True)
    return len(devices)


@transaction.atomic
def tag_unassign(*, tag_ids: Iterable[int], devices: Iterable[Device]) -> int:
    """Take the tags `tag_ids` off `devices`; returns how many assignments there were."""
    device_ids = [device.pk for device in _device_list(devices)]
    assignments = DeviceTag.objects.unscoped("the tags of players the caller holds")
    deleted, _ = assignments.filter(tag__in=list(tag_ids), device__in=device_ids).delete()
    return deleted


def _priority_clean(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise field_error("priority", f"A priority is a whole number from {PRIORITY_MIN} to {PRIORITY_MAX}.")
    return priority


@transaction.atomic
def policy_assign(*, policy: Policy, devices: Iterable[Device], priority: int = 0) -> int:
    """Assign `policy` to `devices` (players of its fleet) with `priority`; a player that already has it
    takes the new priority. Returns the number of players."""
    priority = _priority_clean(priority)
    devices = _device_list(devices)
    _same_fleet(devices, policy.fleet_id, "policy")
    DevicePolicy.objects.bulk_create(
        [DevicePolicy(device=device, policy=policy, priority=priority) for device in devices],
        update_conflicts=True,
        unique_fields=["device", "policy"],
        update_fields=["priority"],
    )
    devices_settings_changed(fleet_id=policy.fleet_id, device_ids=[device.pk for device in devices])
    return len(devices)


@transaction.atomic
def policy_unassign(*, policy_ids: Iterable[int], devices: Iterable[Device]) -> int:
    """Take the policies `policy_ids` off `devices`; returns how many assignments there were."""
    devices = _device_list(devices)
    assignments = DevicePolicy.objects.unscoped("the policies of players the caller holds")
    deleted, _ = assignments.filter(policy__in=list(policy_ids), device__in=[device.pk for device in devices]).delete()
    if deleted:
        by_fleet: dict[int | None, list[int]] = {}
        for device in devices:
            by_fleet.setdefault(device.fleet_id, []).append(device.pk)
        for fleet_id, device_ids in by_fleet.items():
            devices_settings_changed(fleet_id=fleet_id, device_ids=device_ids)
    return deleted


# --- effective settings ---------------------------------------------------------------------------------


def effective_settings(*, device_ids: Iterable[int]) -> dict[int, dict[str, dict]]:
    """`{device_id: {item type: {"value", "policy", "priority"}}}` from each player's active (not archived)
    policies, the highest priority winning item by item (`items.policies_merge`). One query."""
    device_ids = list(device_ids)
    assignments = DevicePolicy.objects.unscoped("the policies of players the caller holds")
    rows = assignments.filter(device__in=device_ids, policy__archived=False).values_list(
        "device", "priority", "policy", "policy__items"
    )
    assignments: dict[int, list] = {pk: [] for pk in device_ids}
    for device_id, priority, policy_id, items in rows:
        assignments[device_id].append((priority, policy_id, items))
    return {device_id: policies_merge(rows) for device_id, rows in assignments.items()}


def policy_changed(*, policy: Policy) -> None:
    """A policy's items or archived flag changed: its players' effective settings may have."""
    device_ids = list(policy.device_policies.values_list("device", flat=True))
    devices_settings_changed(fleet_id=policy.fleet_id, device_ids=device_ids)


def devices_settings_changed(*, fleet_id: int | None, device_ids: Iterable[int]) -> None:
    """What the settings of these players of `fleet_id` (a fleet the caller checked) depend on changed:
    recompute their settings versions (the changed ones learn it at their next heartbeat). Call it after
    any such change made outside these services."""
    from .delivery import devices_settings_refresh  # delivery builds on this module

    device_ids = list(device_ids)
    if device_ids and fleet_id is not None:
        devices_settings_refresh(devices=Device.objects.of_fleet(fleet_id).filter(pk__in=device_ids))
