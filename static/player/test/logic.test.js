// Unit tests of the web player's pure parts, with node's built-in runner: node --test static/player/test/
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MemoryStore,
  StatsQueue,
  backoff,
  cursorAfterChange,
  diffContent,
  entrySeconds,
  nextEntry,
  pdfPage,
  playEvent,
  presentation,
  youtubeEmbedUrl,
} from "../logic.js";

const content = (id, hash) => ({ content_id: id, file_hash: hash, download_url: `/dl/${id}` });

test("diffContent downloads what is missing or changed and deletes what is no longer needed", () => {
  const cached = { "picture-1": "aaa", "picture-2": "old", "video-3": "ccc" };
  const { fetch, remove } = diffContent(
    cached,
    [content("picture-1", "aaa"), content("picture-2", "new"), content("pdf-4", "ddd")],
    ["video-3", "picture-1"],
  );
  assert.deepEqual(fetch.map((c) => c.content_id), ["picture-2", "pdf-4"]);
  // picture-1 is named by the server but still needed: kept; video-3 goes.
  assert.deepEqual(remove, ["video-3"]);
});

test("diffContent removes cached files the server forgot to name", () => {
  const { fetch, remove } = diffContent({ "picture-9": "x" }, [content("picture-1", "a")], []);
  assert.deepEqual(fetch.map((c) => c.content_id), ["picture-1"]);
  assert.deepEqual(remove, ["picture-9"]);
});

test("diffContent with everything cached does nothing", () => {
  const { fetch, remove } = diffContent({ "picture-1": "a" }, [content("picture-1", "a")], []);
  assert.deepEqual([fetch, remove], [[], []]);
});

const loop = [
  { content_id: "picture-1", broadcast_id: "b1", type: "picture", duration: 10 },
  { content_id: "video-2", broadcast_id: "b2", type: "video", duration: 4.5 },
  { content_id: "picture-3", broadcast_id: "b3", type: "picture", duration: 5 },
];

test("nextEntry plays the loop in order and wraps around", () => {
  const order = [];
  let cursor = -1;
  for (let i = 0; i < 5; i += 1) {
    const next = nextEntry(loop, cursor, () => true);
    order.push(next.item.content_id);
    cursor = next.index;
  }
  assert.deepEqual(order, ["picture-1", "video-2", "picture-3", "picture-1", "video-2"]);
});

test("nextEntry skips what is not downloaded yet, and gives null when nothing can play", () => {
  const ready = (item) => item.content_id !== "video-2";
  assert.equal(nextEntry(loop, 0, ready).item.content_id, "picture-3");
  assert.equal(nextEntry(loop, -1, () => false), null);
  assert.equal(nextEntry([], -1, () => true), null); // an empty loop: outside opening hours
});

test("entrySeconds: a picture for its duration, a video with a guard past its end", () => {
  assert.equal(entrySeconds(loop[0]), 10);
  assert.equal(entrySeconds(loop[1]), 9.5);
  assert.equal(entrySeconds({ type: "picture", duration: null }, 7), 7);
});

test("cursorAfterChange continues after the same entry in the new loop, else from the start", () => {
  const newLoop = [loop[2], loop[0]];
  assert.equal(cursorAfterChange(loop, 0, newLoop), 1);
  assert.equal(cursorAfterChange(loop, 1, newLoop), -1);
  assert.equal(nextEntry(newLoop, cursorAfterChange(loop, 2, newLoop), () => true).item.content_id, "picture-1");
});

test("playEvent is what POST /api/device/stats takes", () => {
  const item = { content_id: "picture-1", ad_id: "ad", broadcast_id: "b1" };
  const event = playEvent(item, Date.UTC(2026, 0, 2, 3, 4, 5), Date.UTC(2026, 0, 2, 3, 4, 15, 250), "e1");
  assert.deepEqual(event, {
    id: "e1",
    media: "picture-1",
    ad: "ad",
    broadcast: "b1",
    started_at: "2026-01-02T03:04:05.000Z",
    duration: 10.25,
  });
});

test("backoff doubles up to its cap, with at most 20% jitter off", () => {
  const none = () => 0;
  assert.deepEqual([0, 1, 2, 3, 6, 20].map((n) => backoff(n, { base: 1000, cap: 15000, random: none })), [
    0, 1000, 2000, 4000, 15000, 15000,
  ]);
  assert.equal(backoff(2, { base: 1000, cap: 15000, random: () => 0.999 }), 1600);
});

function events(n) {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i}`, media: "picture-1" }));
}

test("StatsQueue keeps events until a 2xx acknowledges them, and sends each acknowledged event once", async () => {
  const store = new MemoryStore();
  const sent = [];
  let up = false;
  const queue = new StatsQueue(store, async (batch) => {
    if (!up) return 0; // the server cannot be reached
    sent.push(...batch.map((event) => event.id));
    return 200;
  }, { batchSize: 2 });
  for (const event of events(5)) await queue.add(event);
  assert.equal(await queue.flush(), false);
  assert.equal(store.events.size, 5);
  up = true;
  assert.equal(await queue.flush(), true);
  assert.equal(await queue.flush(), true);
  assert.deepEqual(sent, ["e0", "e1", "e2", "e3", "e4"]);
  assert.equal(store.events.size, 0);
});

test("StatsQueue runs one flush at a time", async () => {
  const store = new MemoryStore();
  let calls = 0;
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const queue = new StatsQueue(store, async () => {
    calls += 1;
    await gate;
    return 200;
  });
  for (const event of events(3)) await queue.add(event);
  const first = queue.flush();
  const second = queue.flush();
  assert.equal(first, second);
  release();
  await first;
  assert.equal(calls, 1);
});

test("StatsQueue isolates an event the server refuses (400) and keeps the rest", async () => {
  const store = new MemoryStore();
  const stored = [];
  const queue = new StatsQueue(store, async (batch) => {
    if (batch.some((event) => event.id === "e2")) return 400;
    stored.push(...batch.map((event) => event.id));
    return 200;
  });
  for (const event of events(5)) await queue.add(event);
  assert.equal(await queue.flush(), true);
  assert.deepEqual(stored.sort(), ["e0", "e1", "e3", "e4"]);
  assert.deepEqual(queue.dropped.map((event) => event.id), ["e2"]);
});

test("StatsQueue keeps a batch on a server error (5xx) to try again later", async () => {
  const store = new MemoryStore();
  const queue = new StatsQueue(store, async () => 503);
  for (const event of events(2)) await queue.add(event);
  assert.equal(await queue.flush(), false);
  assert.equal(store.events.size, 2);
});

test("pdfPage shares the entry's duration evenly between the pages", () => {
  assert.deepEqual([0, 2.9, 3, 5.99, 6, 8.99, 9, 50].map((t) => pdfPage(t, 9, 3)), [1, 1, 2, 2, 3, 3, 3, 3]);
  assert.equal(pdfPage(4, 9, 0), 1); // a count not known yet: the first page
  assert.equal(pdfPage(-1, 9, 3), 1);
});

// --- live content: web pages, YouTube videos, HLS live streams ---------------------------------------------

const web = { content_id: "web-7", type: "web", url: "https://menu.example/today", download_url: "/dl/web-7", duration: 20 };
const youtube = { content_id: "youtube-8", type: "youtube", youtube_id: "aqz-KE-bpKQ", download_url: null, duration: 45 };
const stream = { content_id: "livestream-9", type: "livestream", url: "https://tv.example/live.m3u8", duration: 60 };
const ORIGIN = "https://signage.example";

test("a web page plays live in a sandboxed frame, and its capture when the server is away", () => {
  const live = presentation(web, { origin: ORIGIN });
  assert.deepEqual(live, {
    element: "iframe",
    src: "https://menu.example/today",
    sandbox: "allow-scripts allow-same-origin",
    allow: "autoplay",
  });
  assert.ok(!/allow-top-navigation|allow-popups|allow-forms/.test(live.sandbox));
  assert.deepEqual(presentation(web, { online: false, cached: () => true }), { element: "img", capture: true });
  assert.equal(presentation(web, { online: false, cached: () => false }), null); // capture not downloaded yet
});

test("a web page of the player's own origin cannot lift its sandbox", () => {
  const own = { ...web, url: `${ORIGIN}/admin/` };
  assert.equal(presentation(own, { origin: ORIGIN }).sandbox, "allow-scripts");
});

test("only http(s) pages and streams are shown: anything else falls back or is skipped", () => {
  for (const url of ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "not a url", undefined]) {
    assert.deepEqual(presentation({ ...web, url }, {}), { element: "img", capture: true });
    assert.equal(presentation({ ...stream, url }, { nativeHls: true, hlsJs: true }), null);
  }
});

test("youtubeEmbedUrl is the privacy-enhanced embed, looped and muted unless the player has a volume", () => {
  const url = new URL(youtubeEmbedUrl("aqz-KE-bpKQ"));
  assert.equal(`${url.origin}${url.pathname}`, "https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ");
  const query = Object.fromEntries(url.searchParams);
  assert.equal(query.autoplay, "1");
  assert.equal(query.mute, "1");
  assert.equal(query.loop, "1");
  assert.equal(query.playlist, "aqz-KE-bpKQ"); // loop=1 needs the playlist of the same video
  assert.equal(new URL(youtubeEmbedUrl("aqz-KE-bpKQ", { muted: false })).searchParams.get("mute"), "0");
  for (const bad of ["aqz-KE-bpK", "aqz-KE-bpKQQ", "../../x?y=1", "aqz KE bpKQ", null]) {
    assert.equal(youtubeEmbedUrl(bad), null, String(bad));
  }
});

test("a YouTube video plays in its embed frame while online, and is skipped offline", () => {
  const shown = presentation(youtube, { muted: false });
  assert.equal(shown.element, "iframe");
  assert.equal(shown.src, youtubeEmbedUrl("aqz-KE-bpKQ", { muted: false }));
  assert.equal(shown.allow, "autoplay; encrypted-media");
  assert.equal(presentation(youtube, { online: false }), null);
  assert.equal(presentation({ ...youtube, youtube_id: "<script>" }, {}), null);
});

test("a live stream plays through hls.js, else the browser's own HLS, else it is skipped; never offline", () => {
  assert.deepEqual(presentation(stream, { nativeHls: true, hlsJs: true }), {
    element: "video",
    src: "https://tv.example/live.m3u8",
    hls: "hls.js",
  });
  assert.equal(presentation(stream, { nativeHls: true }).hls, "native");
  assert.equal(presentation(stream, {}), null); // no HLS in this browser: skipped
  assert.equal(presentation(stream, { online: false, nativeHls: true }), null);
});

test("files play once downloaded; the loop skips what cannot be shown and times live items by duration", () => {
  assert.deepEqual(presentation(loop[0], {}), { element: "img" });
  assert.deepEqual(presentation(loop[1], {}), { element: "video" });
  assert.equal(presentation(loop[0], { cached: () => false }), null);
  const items = [loop[0], youtube, stream, web];
  const offline = { online: false, cached: () => true };
  const order = [];
  let cursor = -1;
  for (let i = 0; i < 4; i += 1) {
    const next = nextEntry(items, cursor, (item) => presentation(item, offline) !== null);
    order.push(next.item.content_id);
    cursor = next.index;
  }
  assert.deepEqual(order, ["picture-1", "web-7", "picture-1", "web-7"]); // offline: no YouTube, no stream
  assert.deepEqual([web, youtube, stream].map((item) => entrySeconds(item)), [20, 45, 60]);
  assert.equal(playEvent(youtube, 0, 45000, "e9").media, "youtube-8");
});
