// The web player's service worker (served as /player/sw.js, scope /player/).
//
// - Content: the page asks it to pre-load the playlist's `content_to_download` into Cache Storage
//   (checked against `file_hash`, sha256) and to delete `content_to_delete`; the page then shows
//   /player/content/<content id>, which is answered from the cache only (with Range support for videos).
//   Signed download URLs expire; the cache key is the content id, so a file is fetched once.
// - The page itself (/player/ and its static files) is answered from the network when it can be, else
//   from the cache: a reload while the server is down still starts the player.

const CONTENT = "signage-content-v1";
const SHELL = "signage-shell-v1";
const CONTENT_PREFIX = "/player/content/";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function contentKey(contentId) {
  return new URL(CONTENT_PREFIX + encodeURIComponent(contentId), self.location.origin).href;
}

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** What the cache holds now: {held: content id -> file hash, pages: content id -> PDF page count}. */
async function cachedContent() {
  const cache = await caches.open(CONTENT);
  const held = {};
  const pages = {};
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (!path.startsWith(CONTENT_PREFIX) || path.includes("/page/")) continue;
    const response = await cache.match(request);
    const contentId = decodeURIComponent(path.slice(CONTENT_PREFIX.length));
    held[contentId] = response.headers.get("X-File-Hash") || "";
    if (response.headers.get("X-Pages")) pages[contentId] = Number(response.headers.get("X-Pages"));
  }
  return { held, pages };
}

async function fetchOk(url, what) {
  const response = await fetch(url, { cache: "no-store", credentials: "omit" });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${what}`);
  return response;
}

/** A PDF is played as its pages, rendered by the server: each page is downloaded and checked, then a
 * marker with the PDF's hash and its page count says the whole PDF is here. */
async function downloadPages(content) {
  const separator = content.download_url.includes("?") ? "&" : "?";
  const listing = await (await fetchOk(`${content.download_url}${separator}pages=1`, content.content_id)).json();
  if (content.file_hash && listing.file_hash !== content.file_hash) throw new Error(`${content.content_id}: hash mismatch`);
  const cache = await caches.open(CONTENT);
  for (const page of listing.pages) {
    const body = await (await fetchOk(page.download_url, `${content.content_id} page ${page.page}`)).arrayBuffer();
    if ((await sha256Hex(body)) !== page.file_hash) throw new Error(`${content.content_id} page ${page.page}: hash mismatch`);
    await cache.put(`${contentKey(content.content_id)}/page/${page.page}`, new Response(body, { headers: { "Content-Type": "image/png" } }));
  }
  await cache.put(
    contentKey(content.content_id),
    new Response(JSON.stringify(listing), {
      headers: { "Content-Type": "application/json", "X-File-Hash": listing.file_hash, "X-Pages": String(listing.pages.length) },
    }),
  );
}

async function removeContent(cache, contentId) {
  const key = contentKey(contentId);
  for (const request of await cache.keys()) {
    if (request.url === key || request.url.startsWith(`${key}/page/`)) await cache.delete(request);
  }
}

async function download(content) {
  if (content.type === "pdf") return downloadPages(content);
  const response = await fetchOk(content.download_url, content.content_id);
  const body = await response.arrayBuffer();
  const hash = await sha256Hex(body);
  if (content.file_hash && hash !== content.file_hash) throw new Error(`${content.content_id}: hash mismatch`);
  const cache = await caches.open(CONTENT);
  await cache.put(
    contentKey(content.content_id),
    new Response(body, {
      headers: {
        "Content-Type": response.headers.get("Content-Type") || "application/octet-stream",
        "Content-Length": String(body.byteLength),
        "X-File-Hash": hash,
      },
    }),
  );
}

async function sync({ fetch: wanted = [], remove = [] }) {
  const cache = await caches.open(CONTENT);
  for (const contentId of remove) await removeContent(cache, contentId);
  const failed = [];
  for (const content of wanted) {
    try {
      await download(content);
    } catch (error) {
      failed.push({ content_id: content.content_id, error: String(error) });
    }
  }
  return { ...(await cachedContent()), failed };
}

async function cacheShell(urls) {
  const cache = await caches.open(SHELL);
  await Promise.all(
    urls.map(async (url) => {
      try {
        const response = await fetch(url, { cache: "no-store" });
        if (response.ok) await cache.put(url, response);
      } catch (error) {
        // offline: the copy cached earlier stays
      }
    }),
  );
}

self.addEventListener("message", (event) => {
  const { type, id } = event.data || {};
  const reply = (body) => event.source && event.source.postMessage({ id, ...body });
  let work;
  if (type === "sync") work = sync(event.data);
  else if (type === "held") work = cachedContent().then((held) => ({ ...held, failed: [] }));
  else if (type === "shell") work = cacheShell(event.data.urls || []).then(() => ({}));
  else return;
  event.waitUntil(work.then(reply, (error) => reply({ error: String(error) })));
});

/** A cached file, or the bytes a Range header asks for (video elements ask for ranges). */
async function fromContentCache(request) {
  const cache = await caches.open(CONTENT);
  const path = new URL(request.url).pathname;
  const cached = await cache.match(new URL(path, self.location.origin).href);
  if (!cached) return new Response("Not downloaded yet", { status: 404 });
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.get("Range") || "");
  if (!range) return cached;
  const blob = await cached.blob();
  const size = blob.size;
  let start = range[1] === "" ? Math.max(0, size - Number(range[2])) : Number(range[1]);
  let end = range[1] !== "" && range[2] !== "" ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (start >= size || start > end) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  return new Response(blob.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": cached.headers.get("Content-Type"),
      "Content-Range": `bytes ${start}-${end}/${size}`,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
    },
  });
}

async function networkThenShell(request) {
  try {
    const response = await fetch(request);
    if (response.ok && request.method === "GET") {
      const cache = await caches.open(SHELL);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(request, { cacheName: SHELL, ignoreSearch: request.mode === "navigate" });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  if (url.pathname.startsWith(CONTENT_PREFIX)) {
    event.respondWith(fromContentCache(event.request));
  } else if (url.pathname === "/player/" || url.pathname.startsWith("/static/player/")) {
    event.respondWith(networkThenShell(event.request));
  }
});
