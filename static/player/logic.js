// The web player's pure parts: no DOM, no network, no storage of their own, so node's test runner
// checks them (static/player/test/, `node --test static/player/test/`).

// --- playlist diffing ----------------------------------------------------------------------------------

/**
 * What to download and what to delete, from the playlist's `content_to_download` and
 * `content_to_delete` and what the cache holds now (`cached`: content id -> file hash).
 * A cached file whose hash differs from the playlist's is downloaded again; a cached file the playlist
 * no longer needs is deleted even if the server did not name it (it may have been cached by an older
 * playlist the player never acknowledged).
 */
export function diffContent(cached, toDownload, toDelete = []) {
  const needed = new Map(toDownload.map((content) => [content.content_id, content]));
  const fetch = toDownload.filter((content) => cached[content.content_id] !== content.file_hash);
  const remove = new Set(toDelete.filter((id) => !needed.has(id)));
  for (const id of Object.keys(cached)) {
    if (!needed.has(id)) remove.add(id);
  }
  return { fetch, remove: [...remove].sort() };
}

// --- the schedule clock ----------------------------------------------------------------------------------

/**
 * The next entry to play after position `cursor` (-1 to start), in loop order, skipping entries whose
 * file is not ready (not downloaded yet). Returns {index, item} or null when nothing can play (an empty
 * loop, e.g. outside opening hours, or nothing downloaded yet): the player shows a black screen.
 */
export function nextEntry(items, cursor, isReady) {
  if (!items || items.length === 0) return null;
  for (let step = 1; step <= items.length; step += 1) {
    const index = (((cursor + step) % items.length) + items.length) % items.length;
    if (isReady(items[index])) return { index, item: items[index] };
  }
  return null;
}

/** Seconds an entry stays on screen: its duration from the playlist (a web page, a YouTube video and a
 * live stream play for their display time); a video file plays to its end, and this is only the guard
 * that moves on if its end never comes. */
export function entrySeconds(item, fallback = 10) {
  const seconds = Number(item && item.duration);
  if (!Number.isFinite(seconds) || seconds <= 0) return fallback;
  return item.type === "video" ? seconds + 5 : seconds;
}

/** The page (from 1) of a PDF entry shown `elapsed` seconds after it started: its duration is shared
 * evenly by its pages (so the loop and share-of-voice quotas keep the PDF's display time). */
export function pdfPage(elapsed, duration, pages) {
  const count = Math.max(1, Math.floor(pages) || 1);
  if (!(duration > 0)) return 1;
  return Math.min(count, Math.floor((Math.max(0, elapsed) / duration) * count) + 1);
}

/** Where to go on after the loop changed: the same entry (by broadcast and media) if it is still in
 * the new loop, so the entry after it plays next; else the start of the new loop. */
export function cursorAfterChange(oldItems, cursor, newItems) {
  const current = oldItems && oldItems[cursor];
  if (!current) return -1;
  const same = newItems.findIndex(
    (item) => item.broadcast_id === current.broadcast_id && item.content_id === current.content_id,
  );
  return same;
}

// --- how an item is shown ---------------------------------------------------------------------------

const YOUTUBE_ID = /^[A-Za-z0-9_-]{11}$/;
export const YOUTUBE_EMBED = "https://www.youtube-nocookie.com/embed/";
// A web page runs its scripts in its own origin, and can neither navigate the player away, nor open
// windows, nor submit forms. A page of the player's own origin gets no `allow-same-origin` (with it, it
// could lift its sandbox and read the player's device token).
const WEB_SANDBOX = "allow-scripts allow-same-origin";
const YOUTUBE_SANDBOX = "allow-scripts allow-same-origin allow-presentation";

function httpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch (error) {
    return null;
  }
}

/** The privacy-enhanced embed of a YouTube video (youtube-nocookie.com): autoplay, no controls, looped
 * (a video shorter than its display time starts again), muted unless the player has a volume (browsers
 * refuse autoplay with sound without a user gesture). Null for anything that is not a video id. */
export function youtubeEmbedUrl(videoId, { muted = true } = {}) {
  if (!YOUTUBE_ID.test(String(videoId || ""))) return null;
  const query = new URLSearchParams({
    autoplay: "1",
    mute: muted ? "1" : "0",
    controls: "0",
    playsinline: "1",
    rel: "0",
    loop: "1",
    playlist: videoId,
    disablekb: "1",
  });
  return `${YOUTUBE_EMBED}${videoId}?${query}`;
}

/**
 * How to show `item` now, or null when this player cannot (nextEntry then skips it).
 * `env`: `online` (false once the server cannot be reached: live content needs the network), `cached(item)`
 * (its file is here: downloaded, or no offline cache at all), `origin` (the player's own), `muted`,
 * `nativeHls` (the browser plays HLS itself) and `hlsJs` (the vendored hls.js can, through Media Source).
 * Returns {element: "img" | "video" | "iframe", src?, sandbox?, allow?, hls?: "native" | "hls.js"}.
 * - pictures, videos and PDFs: their downloaded file;
 * - a web page: live in a sandboxed frame when online, else its capture (a picture downloaded like a file);
 * - a YouTube video: the privacy-enhanced embed, online only;
 * - a live stream: a video element, through hls.js (Media Source) or else the browser's own HLS, online
 *   only; without either, skipped.
 */
export function presentation(item, env = {}) {
  const { online = true, cached = () => true, origin = "", muted = true, nativeHls = false, hlsJs = false } = env;
  const type = item && item.type;
  if (type === "web") {
    const url = httpUrl(item.url);
    if (online && url) {
      const sandbox = url.origin === origin ? "allow-scripts" : WEB_SANDBOX;
      return { element: "iframe", src: url.href, sandbox, allow: "autoplay" };
    }
    return item.download_url && cached(item) ? { element: "img", capture: true } : null;
  }
  if (type === "youtube") {
    const src = youtubeEmbedUrl(item.youtube_id, { muted });
    return online && src ? { element: "iframe", src, sandbox: YOUTUBE_SANDBOX, allow: "autoplay; encrypted-media" } : null;
  }
  if (type === "livestream") {
    const url = httpUrl(item.url);
    if (!online || !url) return null;
    // hls.js first where Media Source exists (hls.js's own advice: the same player everywhere, its errors
    // reported), the browser's own HLS elsewhere (older iPhones).
    if (hlsJs) return { element: "video", src: url.href, hls: "hls.js" };
    return nativeHls ? { element: "video", src: url.href, hls: "native" } : null;
  }
  if (!cached(item)) return null;
  return { element: type === "video" ? "video" : "img" };
}

// --- proof of play -------------------------------------------------------------------------------------

/** A display as POST /api/device/stats takes it. */
export function playEvent(item, startedAt, endedAt, id) {
  return {
    id,
    media: item.content_id,
    ad: item.ad_id || null,
    broadcast: item.broadcast_id || null,
    started_at: new Date(startedAt).toISOString(),
    duration: Math.max(0, Math.round((endedAt - startedAt) / 10) / 100),
  };
}

// --- the retry queue -----------------------------------------------------------------------------------

/** Delay before the next try after `failures` failures in a row: doubling from `base`, at most `cap`,
 * with up to 20% jitter (`random` in [0, 1)) so players that lost the server together do not return
 * together. */
export function backoff(failures, { base = 1000, cap = 30000, random = Math.random } = {}) {
  if (failures <= 0) return 0;
  const delay = Math.min(cap, base * 2 ** (failures - 1));
  return Math.round(delay * (1 - 0.2 * random()));
}

/**
 * Proof of play kept until the server acknowledges it. `store` keeps events by id (IndexedDB in the
 * browser, a Map in tests): `{put(event), list(limit), remove(ids)}`, all async. `send(events)` posts a
 * batch and resolves to the HTTP status (0 when the server cannot be reached).
 *
 * An event leaves the store only once a 2xx acknowledged it, so nothing is lost across a reload or an
 * outage; one flush runs at a time, so an acknowledged event is never sent again. A batch refused with a
 * 400 is split in halves until the refused event is alone, and that one is dropped (kept, it would block
 * every later event); any other failure keeps the batch and reports it, so the caller backs off.
 */
export class StatsQueue {
  constructor(store, send, { batchSize = 100 } = {}) {
    this.store = store;
    this.send = send;
    this.batchSize = batchSize;
    this.running = null;
    this.dropped = [];
  }

  async add(event) {
    await this.store.put(event);
  }

  /** Send everything pending. Resolves to true when the store is empty, false when the server could not
   * take it now. */
  flush() {
    if (!this.running) {
      this.running = this._flush().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  async _flush() {
    for (;;) {
      const batch = await this.store.list(this.batchSize);
      if (batch.length === 0) return true;
      if (!(await this._sendBatch(batch))) return false;
    }
  }

  async _sendBatch(batch) {
    const status = await this.send(batch);
    if (status >= 200 && status < 300) {
      await this.store.remove(batch.map((event) => event.id));
      return true;
    }
    if (status === 400) {
      if (batch.length === 1) {
        this.dropped.push(batch[0]);
        await this.store.remove([batch[0].id]);
        return true;
      }
      const half = Math.ceil(batch.length / 2);
      return (await this._sendBatch(batch.slice(0, half))) && this._sendBatch(batch.slice(half));
    }
    return false;
  }
}

/** The store of StatsQueue in memory (tests, and browsers without IndexedDB). */
export class MemoryStore {
  constructor() {
    this.events = new Map();
  }

  async put(event) {
    this.events.set(event.id, event);
  }

  async list(limit) {
    return [...this.events.values()].slice(0, limit);
  }

  async remove(ids) {
    for (const id of ids) this.events.delete(id);
  }
}
