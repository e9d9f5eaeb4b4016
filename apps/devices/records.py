"""The lean device path's records of devices in Redis (apps/devices/lean.py reads them in its scripts).

A device's record is a Redis hash keyed by its token hash, written by the full path (`remember`) and dropped by
whatever changes the device from the outside (`forget`: saves, pairing, commands, locking, deletion, going
offline), after commit too; a generation counter, read before the database, keeps a slow request from writing
back a record older than a forget. Here, apart from the HTTP handlers, so that the devices' services can
forget records without importing the API layer (import-linter's "services know no API" contract).
"""

from django.db import transaction

from signage import kv

RECORD_SECONDS = 24 * 3600  # a record unused for a day is dropped; the next request rebuilds it
SEEN, TELEMETRY = "heartbeats:seen", "heartbeats:telemetry"  # the buffers services.devices_flush_heartbeats reads
# What players took at their last playlist fetch, device id -> "<etag> <content ids, comma-separated>", newer
# than the database's playlist_etag / content_ids until services.devices_flush_fetches writes it there.
FETCHED = "playlists:fetched"

# KEYS: the seen and telemetry buffers. ARGV: devices per batch. Takes and empties both buffers at once and
# returns how many devices they held, then the heartbeats as JSON arrays of at most that many devices, in the
# order of their ids: [{"id": device id, "seen": Unix time, "t": {field: value}}]. The lean heartbeat script
# keeps each value as the JSON it was sent in and the time as a JSON number, so this only joins strings and
# the flush hands the text to PostgreSQL as it is, without parsing a heartbeat in Python.
TAKE = """
local seen = redis.call('HGETALL', KEYS[1])
local telemetry = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
local fields = {}
for i = 1, #telemetry, 2 do
  local name = telemetry[i]
  local colon = string.find(name, ':', 1, true)
  local id = string.sub(name, 1, colon - 1)
  local entry = '"' .. string.sub(name, colon + 1) .. '":' .. telemetry[i + 1]
  local list = fields[id]
  if list then list[#list + 1] = entry else fields[id] = {entry} end
end
local ids, names, at = {}, {}, {}
for i = 1, #seen, 2 do
  local id = tonumber(seen[i])
  ids[#ids + 1] = id
  names[id], at[id] = seen[i], seen[i + 1]
end
table.sort(ids)
local reply, batch, size = {#ids}, {}, tonumber(ARGV[1])
for _, id in ipairs(ids) do
  local name = names[id]
  local list = fields[name]
  local values = list and table.concat(list, ',') or ''
  batch[#batch + 1] = '{"id":' .. name .. ',"seen":' .. at[id] .. ',"t":{' .. values .. '}}'
  if #batch == size then
    reply[#reply + 1] = '[' .. table.concat(batch, ',') .. ']'
    batch = {}
  end
end
if #batch > 0 then reply[#reply + 1] = '[' .. table.concat(batch, ',') .. ']' end
return reply
"""

# KEYS: record, generation, the device's screen key, the fetch buffer. ARGV: the generation read before the
# database, ttl, field / value pairs. A fetch not yet flushed is newer than the database's etag and contents.
REMEMBER = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], redis.call('HGET', KEYS[1], 'screen'), 'EX', ARGV[2])
local pending = redis.call('HGET', KEYS[4], redis.call('HGET', KEYS[1], 'id'))
if pending then
  local space = string.find(pending, ' ', 1, true)
  redis.call('HSET', KEYS[1], 'etag', string.sub(pending, 1, space - 1), 'contents', string.sub(pending, space + 1))
end
return 1
"""

# KEYS: record, the fetch buffer. ARGV: device id, etag, contents. A record forgotten meanwhile stays forgotten.
FETCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'etag', ARGV[2], 'contents', ARGV[3]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return 1
"""

# KEYS: record, generation. ARGV: the generation's ttl, the screen key's prefix (its device id appended).
FORGET = """
local id = redis.call('HGET', KEYS[1], 'id')
if id then redis.call('DEL', ARGV[2] .. id) end
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""


def _record_key(hashed: str) -> str:
    return f"device:{hashed}"


def _generation_key(hashed: str) -> str:
    return f"device-generation:{hashed}"


def screen_key(device_id) -> str:
    """A remembered device's screen id ('' unpaired), by device id: what a signed download URL names
    (lean.download). Written and dropped with the record."""
    return f"device-screen:{device_id}"


# --- records ----------------------------------------------------------------------------------------------


def generation(hashed: str) -> str | None:
    """Read before the database: `remember` writes only if no `forget` came in between."""
    redis = kv.client()
    if redis is None:
        return None
    value = redis.get(kv.key(_generation_key(hashed)))
    return "0" if value is None else value.decode()


def _record(device, overrides: dict) -> list[str]:
    from .services import heartbeat_interval

    values = {
        "id": device.pk,
        "uuid": device.uuid,
        "screen": device.screen_id or "",
        "online": int(overrides.get("online", device.online)),
        "pending": int(overrides.get("pending", device.has_pending_commands)),
        "locked": int(device.is_locked),
        "pin": device.lock_pin or "",
        "etag": overrides.get("etag", device.playlist_etag) or "",
        "interval": heartbeat_interval(device),
        "settings": device.settings_version,
        "fetched": device.settings_fetched,
        # the media it was told to keep, for the lean full fetch's content_to_delete (ids hold no comma)
        "contents": ",".join(device.content_ids or []),
    }
    return [str(item) for pair in values.items() for item in pair]


def remember(device, **overrides) -> None:
    """Keep what the lean paths need of a device that the full path just served. `overrides` are the
    values the full path wrote (online, pending, etag)."""
    seen = getattr(device, "lean_generation", None)
    if seen is None or kv.client() is None:
        return
    pairs, hashed = _record(device, overrides), device.token_hash
    kv.run_script(
        REMEMBER,
        keys=kv.keys(_record_key(hashed), _generation_key(hashed), screen_key(device.pk), FETCHED),
        args=[seen, RECORD_SECONDS, *pairs],
    )


def remember_many(devices) -> int:
    """Records for many devices at once (after a Redis loss, or to warm a load test): the generations are
    read before the devices (a queryset with select_related("fleet")), then one pipeline writes them."""
    redis = kv.client()
    if redis is None:
        return 0
    hashes = list(devices.values_list("token_hash", flat=True))
    generations = dict(
        zip(hashes, redis.mget([kv.key(_generation_key(h)) for h in hashes]) if hashes else [], strict=True)
    )
    pipeline = redis.pipeline(transaction=False)
    script = redis.register_script(REMEMBER)
    written = 0
    for device in devices.filter(token_hash__in=hashes):
        seen = (generations.get(device.token_hash) or b"0").decode()
        keys = kv.keys(
            _record_key(device.token_hash), _generation_key(device.token_hash), screen_key(device.pk), FETCHED
        )
        script(keys=keys, args=[seen, RECORD_SECONDS, *_record(device, {})], client=pipeline)
        written += 1
    pipeline.execute()
    return written


def fetch_record(*, device_id: int, token_hash: str, etag: str, content_ids: list[str]) -> None:
    """What a player took at a playlist fetch: into its record (if remembered) and the fetch buffer, which
    services.devices_flush_fetches writes to the database; one round trip (ids hold no comma or space)."""
    keys = kv.keys(_record_key(token_hash), FETCHED)
    kv.hot_script(FETCH, keys=keys, args=[device_id, etag, ",".join(content_ids)])


def _fetch(raw: bytes) -> tuple[str, list[str]]:
    """(etag, content ids) of a fetch as FETCH buffers it."""
    etag, _, contents = raw.decode().partition(" ")
    return etag, contents.split(",") if contents else []


def fetch_pending(device_id: int) -> tuple[str, list[str]] | None:
    """A fetch not yet written to the database: (etag, content ids), newer than the device's columns."""
    redis = kv.client()
    raw = redis.hget(kv.key(FETCHED), str(device_id)) if redis is not None else None
    return None if raw is None else _fetch(raw)


def fetches_take() -> dict[int, tuple[str, list[str]]]:
    """The buffered fetches (device id -> (etag, content ids)), the buffer emptied at once."""
    pipeline = kv.client().pipeline(transaction=True)
    pipeline.hgetall(kv.key(FETCHED))
    pipeline.delete(kv.key(FETCHED))
    raw, _ = pipeline.execute()
    return {int(pk): _fetch(value) for pk, value in raw.items()}


def forget(token_hashes) -> None:
    """Drop the records of these devices (by token hash) now and again once the transaction commits (a
    request served in between read the database before the commit)."""
    hashes = [hashed for hashed in token_hashes if hashed]
    if hashes and kv.client() is not None:
        _forget_now(hashes)
        transaction.on_commit(lambda: _forget_now(hashes))


def _forget_now(hashes: list[str]) -> None:
    redis = kv.client()
    pipeline, script = redis.pipeline(transaction=False), redis.register_script(FORGET)
    prefix = kv.key(screen_key(""))
    for hashed in hashes:
        keys = kv.keys(_record_key(hashed), _generation_key(hashed))
        script(keys=keys, args=[2 * RECORD_SECONDS, prefix], client=pipeline)
    pipeline.execute()
