// The web player: a client of the device protocol (/api/device/, reference 002) and nothing else.
// Pure rules live in logic.js (tested with node); this file wires them to the page, the network, the
// service worker (Cache Storage) and IndexedDB.
import {
  StatsQueue,
  MemoryStore,
  backoff,
  cursorAfterChange,
  diffContent,
  entrySeconds,
  nextEntry,
  pdfPage,
  playEvent,
  presentation,
} from "./logic.js";

const VERSION = "1.0.0";
const API = "/api/device";
const KEYS = { uuid: "signage.uuid", token: "signage.token", playlist: "signage.playlist", results: "signage.results" };
const script = document.getElementById("player-script");
const $ = (id) => document.getElementById(id);

const player = {
  token: localStorage.getItem(KEYS.token),
  uuid: localStorage.getItem(KEYS.uuid),
  paired: false,
  playlist: JSON.parse(localStorage.getItem(KEYS.playlist) || "null"),
  held: {}, // content id -> file hash, as the service worker's cache holds them
  pages: {}, // PDF content id -> its page count
  cursor: -1,
  current: null, // {item, startedAt, element, timer}
  volume: 0,
  locked: false,
  lockPin: null,
  failures: 0,
  online: null,
  played: [], // ids of the displays this page reported (for diagnostics and tests)
  log: [], // the last lines logged (live content skipped or failing), for diagnostics and tests
  skipped: new Set(), // streams already logged as not playable here
  startedAt: Date.now(),
};
window.signagePlayer = player;

function status(text) {
  $("status").textContent = text;
}

function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- network ----------------------------------------------------------------------------------------------

async function call(path, { method = "GET", body, headers = {} } = {}) {
  const options = { method, headers: { ...headers }, cache: "no-store", credentials: "omit" };
  if (player.token) options.headers.Authorization = `Device ${player.token}`;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return fetch(API + path, options);
}

// --- the service worker and its cache ----------------------------------------------------------------

const worker = { ready: null, pending: new Map(), next: 0 };

async function startServiceWorker() {
  if (!("serviceWorker" in navigator)) return null; // not a secure context: no offline cache
  try {
    await navigator.serviceWorker.register(script.dataset.serviceWorker, { scope: "/player/" });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
  } catch (error) {
    status(`no offline cache: ${error}`);
    return null;
  }
  navigator.serviceWorker.addEventListener("message", (event) => {
    const waiting = worker.pending.get(event.data.id);
    if (waiting) {
      worker.pending.delete(event.data.id);
      waiting(event.data);
    }
  });
  return navigator.serviceWorker.controller;
}

function ask(message) {
  const controller = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!controller) return Promise.resolve({ held: {}, failed: [] });
  const id = (worker.next += 1);
  return new Promise((resolve) => {
    worker.pending.set(id, resolve);
    controller.postMessage({ ...message, id });
  });
}

function contentUrl(item) {
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    return `/player/content/${encodeURIComponent(item.content_id)}`;
  }
  return item.download_url; // no service worker: straight from the server, no offline play
}

function isReady(item) {
  if (!(navigator.serviceWorker && navigator.serviceWorker.controller)) return true;
  return player.held[item.content_id] === item.file_hash;
}

async function syncContent(playlist) {
  const { fetch, remove } = diffContent(player.held, playlist.content_to_download || [], playlist.content_to_delete || []);
  if (fetch.length === 0 && remove.length === 0) return;
  const reply = await ask({ type: "sync", fetch, remove });
  if (reply.held) player.held = reply.held;
  if (reply.pages) player.pages = reply.pages;
  if (reply.failed && reply.failed.length) status(`download failed: ${reply.failed.map((f) => f.content_id).join(", ")}`);
}

// --- proof of play in IndexedDB ----------------------------------------------------------------------------

function openStore() {
  if (!("indexedDB" in window)) return Promise.resolve(new MemoryStore());
  return new Promise((resolve) => {
    const request = indexedDB.open("signage-player", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("events", { keyPath: "id" });
    request.onerror = () => resolve(new MemoryStore());
    request.onsuccess = () => {
      const db = request.result;
      const run = (mode, work) =>
        new Promise((done, fail) => {
          const transaction = db.transaction("events", mode);
          const result = work(transaction.objectStore("events"));
          transaction.oncomplete = () => done(result && "result" in result ? result.result : undefined);
          transaction.onerror = () => fail(transaction.error);
        });
      resolve({
        put: (event) => run("readwrite", (store) => void store.put(event)),
        list: (limit) => run("readonly", (store) => store.getAll(null, limit)),
        remove: (ids) => run("readwrite", (store) => ids.forEach((id) => store.delete(id))),
      });
    };
  });
}

let stats = null;

async function sendStats(events) {
  try {
    const response = await call("/stats", { method: "POST", body: { events } });
    return response.status;
  } catch (error) {
    return 0;
  }
}

// --- playing the loop --------------------------------------------------------------------------------------

function items() {
  return (player.playlist && player.playlist.playlist && player.playlist.playlist.items) || [];
}

// --- live content: web pages, YouTube videos, HLS live streams ------------------------------------------

// Streams play through the vendored hls.js (pinned, served with the player, no CDN) wherever Media Source
// Extensions exist (Chromium, Firefox), else through the browser's own HLS (Safari on older iPhones).
// Without either, a stream is skipped with a log line.
const NATIVE_HLS = document.createElement("video").canPlayType("application/vnd.apple.mpegurl") !== "";
const MSE = "MediaSource" in window || "ManagedMediaSource" in window;
const HLS_JS = new URL("./vendor/hls-1.7.4.light.min.mjs", import.meta.url).href;
let hlsModule = null;

function log(message) {
  console.info(`signage player: ${message}`);
  player.log.push(message);
  if (player.log.length > 50) player.log.shift();
}

function playbackEnv() {
  return {
    online: player.online !== false,
    cached: isReady,
    origin: window.location.origin,
    muted: player.volume === 0,
    nativeHls: NATIVE_HLS,
    hlsJs: MSE,
  };
}

function canShow(item) {
  const shown = presentation(item, playbackEnv());
  if (!shown && item.type === "livestream" && player.online !== false && !player.skipped.has(item.content_id)) {
    player.skipped.add(item.content_id);
    log(`skipping ${item.content_id}: this browser cannot play HLS (no native HLS, no Media Source)`);
  }
  return shown !== null;
}

async function attachHls(element, src) {
  try {
    hlsModule = hlsModule || (await import(HLS_JS));
    const Hls = hlsModule.default;
    if (!Hls.isSupported()) throw new Error("hls.js is not supported here");
    const hls = new Hls({ enableWorker: false, lowLatencyMode: false });
    hls.on(Hls.Events.ERROR, (event, data) => {
      if (data.fatal) {
        log(`stream error (${data.type}: ${data.details}), moving on`);
        if (player.current && player.current.element === element) showNext();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(element);
    return hls;
  } catch (error) {
    log(`cannot play the stream: ${error}`);
    if (player.current && player.current.element === element) showNext();
    return null;
  }
}

function liveElement(item, shown) {
  if (shown.element === "iframe") {
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", shown.sandbox);
    frame.setAttribute("allow", shown.allow);
    frame.referrerPolicy = "no-referrer";
    frame.title = item.name || item.content_id;
    frame.src = shown.src;
    return frame;
  }
  const video = document.createElement("video");
  video.muted = player.volume === 0;
  video.volume = player.volume / 100;
  video.autoplay = true;
  video.playsInline = true;
  video.dataset.hls = shown.hls;
  video.addEventListener("error", () => {
    log(`stream ${item.content_id} failed, moving on`);
    showNext();
  }, { once: true });
  if (shown.hls === "native") video.src = shown.src;
  return video;
}

function finishCurrent() {
  const current = player.current;
  if (!current) return;
  player.current = null;
  clearTimeout(current.timer);
  clearInterval(current.pageTimer);
  if (current.hls) current.hls.then((hls) => hls && hls.destroy());
  const event = playEvent(current.item, current.startedAt, Date.now(), newUuid());
  player.played.push(event.id);
  // Sent with the next heartbeat (one batch an interval), not one request a display: 60,000 screens showing
  // 10 s items would post 6,000 batches a second.
  stats.add(event);
}

function showNext() {
  finishCurrent();
  const next = nextEntry(items(), player.cursor, canShow);
  const stage = $("stage");
  if (!next) {
    stage.replaceChildren(); // a black screen: nothing to play now (or outside opening hours)
    player.cursor = -1;
    player.idleTimer = setTimeout(showNext, 1000);
    return;
  }
  player.cursor = next.index;
  const { item } = next;
  const shown = presentation(item, playbackEnv());
  let element;
  let hls = null;
  if (shown.element === "iframe" || shown.hls) {
    element = liveElement(item, shown);
  } else if (item.type === "video") {
    element = document.createElement("video");
    element.muted = player.volume === 0;
    element.volume = player.volume / 100;
    element.autoplay = true;
    element.playsInline = true;
    element.addEventListener("ended", showNext, { once: true });
    element.addEventListener("error", showNext, { once: true });
  } else {
    element = document.createElement("img");
    element.alt = item.name || "";
  }
  let pageTimer = null;
  if (item.type === "pdf") {
    // A PDF plays as its pages (pictures rendered by the server), sharing the entry's duration.
    const count = player.pages[item.content_id] || 1;
    const started = Date.now();
    const showPage = () => {
      const page = pdfPage((Date.now() - started) / 1000, entrySeconds(item), count);
      if (element.dataset.page === String(page)) return;
      element.dataset.page = String(page);
      element.src = navigator.serviceWorker && navigator.serviceWorker.controller
        ? `${contentUrl(item)}/page/${page}`
        : `${item.download_url}&page=${page}`;
    };
    showPage();
    pageTimer = setInterval(showPage, 250);
  } else if (shown.element !== "iframe" && !shown.hls) {
    element.src = contentUrl(item); // its file (a web page offline: its capture)
  }
  element.dataset.contentId = item.content_id;
  element.dataset.kind = shown.element;
  stage.replaceChildren(element);
  if (shown.hls === "hls.js") hls = attachHls(element, shown.src);
  if (element.tagName === "VIDEO") {
    element.play().catch(() => {
      element.muted = true; // the browser refused sound without a user gesture: play muted
      element.play().catch(() => {});
    });
  }
  const timer = setTimeout(showNext, entrySeconds(item) * 1000);
  player.current = { item, startedAt: Date.now(), element, timer, pageTimer, hls };
}

function setPlaylist(playlist) {
  const before = items();
  player.playlist = playlist;
  localStorage.setItem(KEYS.playlist, JSON.stringify(playlist));
  player.cursor = cursorAfterChange(before, player.cursor, items());
}

async function fetchPlaylist({ force = false } = {}) {
  const headers = {};
  if (player.playlist && player.playlist.etag && !force) headers["If-None-Match"] = `"${player.playlist.etag}"`;
  const response = await call("/playlist", { headers });
  if (response.status === 304) return;
  if (!response.ok) throw new Error(`playlist: HTTP ${response.status}`);
  const playlist = await response.json();
  await syncContent(playlist);
  setPlaylist(playlist);
}

// --- commands ----------------------------------------------------------------------------------------------

function screenshot() {
  const canvas = document.createElement("canvas");
  canvas.width = Math.min(window.innerWidth, 1920);
  canvas.height = Math.min(window.innerHeight, 1080);
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const element = player.current && player.current.element;
  // A frame (web page, YouTube) cannot be drawn by the page: it stays black in the screenshot.
  if (element && element.tagName !== "IFRAME") {
    const width = element.naturalWidth || element.videoWidth || canvas.width;
    const height = element.naturalHeight || element.videoHeight || canvas.height;
    const scale = Math.min(canvas.width / width, canvas.height / height);
    const w = width * scale;
    const h = height * scale;
    context.drawImage(element, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  }
  // JPEG: a full-screen photo as PNG would pass the server's request size limit.
  return { image: canvas.toDataURL("image/jpeg", 0.85), width: canvas.width, height: canvas.height };
}

async function reportResult(id, outcome, result) {
  const body = { status: outcome, result };
  try {
    const response = await call(`/commands/${id}/result`, { method: "POST", body });
    // Answered: done. Refused (4xx): sending it again cannot help, and a heartbeat carrying a refused
    // result (too large, say) would fail every time; report the refusal instead.
    if (response.ok) return;
    if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 429) {
      if (outcome === "succeeded") await reportResult(id, "failed", { error: `result refused: HTTP ${response.status}` });
      return;
    }
  } catch (error) {
    // unreachable: the next heartbeat carries it
  }
  const queued = JSON.parse(localStorage.getItem(KEYS.results) || "[]");
  queued.push({ id, ...body });
  localStorage.setItem(KEYS.results, JSON.stringify(queued));
}

async function runCommand(command) {
  try {
    if (command.type === "refresh") {
      await fetchPlaylist({ force: true });
      await reportResult(command.id, "succeeded", { etag: player.playlist && player.playlist.etag });
    } else if (command.type === "reload") {
      await reportResult(command.id, "succeeded", null);
      window.location.reload();
    } else if (command.type === "set_volume") {
      player.volume = command.payload.volume;
      const element = player.current && player.current.element;
      if (element && element.tagName === "VIDEO") {
        element.volume = player.volume / 100;
        element.muted = player.volume === 0;
      }
      await reportResult(command.id, "succeeded", { volume: player.volume });
    } else if (command.type === "screenshot") {
      await reportResult(command.id, "succeeded", screenshot());
    } else if (command.type === "lock" || command.type === "unlock") {
      await reportResult(command.id, "succeeded", null); // the heartbeat's is_locked does the work
    } else {
      await reportResult(command.id, "failed", { error: `The web player cannot ${command.type}.` });
    }
  } catch (error) {
    await reportResult(command.id, "failed", { error: String(error) });
  }
}

// --- registration, pairing, heartbeat ------------------------------------------------------------------

function showPairing(code) {
  $("pairing").hidden = !code;
  if (!code) return;
  $("pairing-code").textContent = code;
  const url = new URL(`${script.dataset.pairUrl}?code=${encodeURIComponent(code)}`, window.location.href);
  $("pair-url").textContent = url.href;
  $("pairing-qr").src = `${script.dataset.qr}?code=${encodeURIComponent(code)}`;
}

async function register() {
  if (!player.uuid) {
    player.uuid = `web-${newUuid()}`;
    localStorage.setItem(KEYS.uuid, player.uuid);
  }
  const body = { uuid: player.uuid, model: "Web player", os_version: navigator.userAgent.slice(0, 50), app_version: VERSION };
  // `/player/?serial=...`: a kiosk provisioned by serial number is paired without a code (if its fleet allows it).
  const serial = new URLSearchParams(window.location.search).get("serial");
  if (serial) body.serial_number = serial.slice(0, 100);
  let response = await call("/register", { method: "POST", body });
  if (response.status === 401 || (response.status === 400 && player.token)) {
    // The server forgot this player (removed by an administrator): start again as a new one.
    player.token = null;
    player.uuid = `web-${newUuid()}`;
    localStorage.setItem(KEYS.uuid, player.uuid);
    localStorage.removeItem(KEYS.token);
    response = await call("/register", { method: "POST", body: { ...body, uuid: player.uuid } });
  }
  if (!response.ok) throw new Error(`register: HTTP ${response.status}`);
  const registration = await response.json();
  if (registration.device_token) {
    player.token = registration.device_token;
    localStorage.setItem(KEYS.token, player.token);
  }
  player.paired = registration.paired;
  player.pairingExpiresAt = registration.pairing_expires_at ? Date.parse(registration.pairing_expires_at) : null;
  showPairing(registration.paired ? null : registration.pairing_code);
}

async function heartbeat() {
  const queued = JSON.parse(localStorage.getItem(KEYS.results) || "[]");
  const current = player.current && player.current.item;
  const body = {
    uuid: player.uuid,
    app_version: VERSION,
    screen_on: true,
    volume: player.volume,
    uptime_seconds: Math.round((Date.now() - player.startedAt) / 1000),
    current_content: current ? current.content_id : "",
    command_results: queued,
  };
  const response = await call("/heartbeat", { method: "POST", body });
  if (response.status === 401) {
    await register();
    return 5;
  }
  if (!response.ok) throw new Error(`heartbeat: HTTP ${response.status}`);
  const answer = await response.json();
  localStorage.removeItem(KEYS.results);
  player.locked = answer.is_locked;
  player.lockPin = answer.lock_pin;
  showAlerts(answer.emergency_alerts || []);
  if (!answer.paired) {
    player.paired = false;
    if (!player.pairingExpiresAt || player.pairingExpiresAt <= Date.now()) await register();
    else $("pairing").hidden = false;
    return Math.min(answer.next_heartbeat_in, 5); // a technician is waiting for the screen to react
  }
  if (!player.paired) {
    player.paired = true;
    showPairing(null);
  }
  if (answer.has_update || !player.playlist) await fetchPlaylist();
  for (const command of answer.pending_commands || []) await runCommand(command);
  stats.flush();
  return answer.next_heartbeat_in;
}

function showAlerts(alerts) {
  const banner = $("alert");
  banner.hidden = alerts.length === 0;
  banner.textContent = alerts.map((alert) => alert.name).join(" · ");
}

async function beat() {
  let delay;
  try {
    if (!player.token) await register();
    delay = (await heartbeat()) * 1000;
    player.failures = 0;
    player.online = true;
    status("");
  } catch (error) {
    player.failures += 1;
    player.online = false;
    delay = backoff(player.failures, { base: 1000, cap: 15000 });
    status(`offline, playing from cache (${error.message || error})`);
  }
  clearTimeout(player.beatTimer);
  player.beatTimer = setTimeout(beat, delay);
}

// --- the local menu (respects the lock) --------------------------------------------------------------------

function openMenu() {
  $("menu").hidden = false;
  $("menu-facts").innerHTML = "";
  for (const [label, value] of [
    ["Player", player.uuid],
    ["Paired", player.paired ? "yes" : "no"],
    ["Server", player.online ? "reachable" : "unreachable"],
    ["Cached files", Object.keys(player.held).length],
  ]) {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    $("menu-facts").append(term, detail);
  }
  $("menu-unlock").hidden = !player.locked;
  $("menu-actions").hidden = player.locked;
}

function wireMenu() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "m" || event.key === "M") openMenu();
    if (event.key === "Escape") $("menu").hidden = true;
  });
  $("menu-close").addEventListener("click", () => ($("menu").hidden = true));
  $("menu-refresh").addEventListener("click", () => fetchPlaylist({ force: true }).catch(() => {}));
  $("menu-forget").addEventListener("click", () => {
    Object.values(KEYS).forEach((key) => localStorage.removeItem(key));
    window.location.reload();
  });
  $("menu-unlock").addEventListener("submit", (event) => {
    event.preventDefault();
    if (player.lockPin && $("menu-pin").value === player.lockPin) {
      $("menu-unlock").hidden = true;
      $("menu-actions").hidden = false;
    }
    $("menu-pin").value = "";
  });
}

// --- start ---------------------------------------------------------------------------------------------------

async function start() {
  wireMenu();
  stats = new StatsQueue(await openStore(), sendStats);
  player.stats = stats;
  await startServiceWorker();
  const assets = performance.getEntriesByType("resource").map((entry) => entry.name);
  ask({ type: "shell", urls: [window.location.pathname, ...assets.filter((url) => url.includes("/static/player/"))] });
  const held = await ask({ type: "held" });
  player.held = held.held || {};
  player.pages = held.pages || {};
  player.paired = Boolean(player.playlist);
  showNext();
  beat();
}

start();
