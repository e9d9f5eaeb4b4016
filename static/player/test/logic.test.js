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
