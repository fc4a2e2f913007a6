// The browser bench's watcher, added to every page before the app's own scripts (Playwright add_init_script).
// It changes nothing on the page: it records when the user's action happened, which event requests the page
// sent, and the first animation frame at which the action is finished (the definition is `finished` below).
// Times are epoch milliseconds (performance.timeOrigin + performance.now()), the clock the server trace uses.
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const bench = (window.__bench = { requests: [], watch: null, inflight: 0, idleSince: null });

  // Every event the page sends (queued: /queue/join; not queued: /run/predict) and every upload.
  const originalFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : (input && input.url) || String(input);
    const m = /\/(queue\/join|run\/predict|upload)\b/.exec(url);
    if (!m) return originalFetch(input, init);
    let fnIndex = null;
    try {
      fnIndex = JSON.parse(init && typeof init.body === "string" ? init.body : "null").fn_index;
    } catch (e) {
      fnIndex = null;
    }
    const record = { kind: m[1], fn_index: fnIndex ?? null, sent: now(), answered: null };
    bench.requests.push(record);
    bench.inflight += 1;
    try {
      return await originalFetch(input, init);
    } finally {
      bench.inflight -= 1;
      record.answered = now();
    }
  };

  const visible = (el) => !!el && el.isConnected && el.getClientRects().length > 0;
  const mediaOf = (el) => el.querySelector("video") || el.querySelector("img");
  const srcOf = (media) => (media ? media.currentSrc || media.src || "" : "");
  const loaded = (media) =>
    media.tagName === "VIDEO" ? media.readyState >= 2 : media.complete && media.naturalWidth > 0;

  function snapshot(spec) {
    const srcs = [];
    for (const sel of [...spec.required, ...spec.checked]) {
      for (const el of document.querySelectorAll(sel)) {
        for (const m of el.querySelectorAll("img, video")) srcs.push(srcOf(m));
      }
    }
    return new Set(srcs.filter(Boolean));
  }

  // What is still missing for the action to be finished; [] when it is.
  //  - no progress indicator: every Gradio status tracker inside `scope` is hidden;
  //  - `banner` (when given): its text includes the expected words (e.g. the input's unique file name);
  //  - every `required` view is on screen and shows a picture or video that was not there before the action
  //    and has loaded (an <img> complete with pixels; a <video> with its current frame decoded);
  //  - every `checked` view that is on screen and shows media shows new, loaded media (an empty one is fine);
  //  - every `texts` element that is on screen has text.
  function missing(spec, before) {
    const out = [];
    const busy = busyTrackers(spec.scope);
    if (busy) out.push(`progress shown in ${busy} place(s)`);
    if (spec.banner) {
      const el = document.querySelector(spec.banner.selector);
      if (!el || !el.innerText.includes(spec.banner.includes)) out.push(`${spec.banner.selector} lacks "${spec.banner.includes}" (says "${el ? el.innerText.trim().slice(0, 160) : ""}")`);
    }
    for (const sel of spec.required) {
      const el = document.querySelector(sel);
      if (!visible(el)) { out.push(`${sel} not on screen`); continue; }
      const media = mediaOf(el);
      if (!media) out.push(`${sel} empty`);
      else if (before.has(srcOf(media))) out.push(`${sel} still shows the old media`);
      else if (!loaded(media)) out.push(`${sel} loading`);
    }
    for (const sel of spec.checked) {
      const el = document.querySelector(sel);
      if (!visible(el)) continue;
      const media = mediaOf(el);
      if (media && (before.has(srcOf(media)) || !loaded(media))) out.push(`${sel} stale or loading`);
    }
    for (const sel of spec.texts) {
      const el = document.querySelector(sel);
      if (visible(el) && !el.innerText.trim()) out.push(`${sel} has no text`);
    }
    return out;
  }

  const busyTrackers = (scope) =>
    [...(document.querySelector(scope) || document.body).querySelectorAll("[data-testid=status-tracker]")].filter(
      (t) => !t.classList.contains("hide") && visible(t)
    ).length;

  // Idle for a while: no event request in flight and no progress shown in `scope`, for IDLE_MS in a row
  // (chained events leave short gaps between them; a preparation waits until the page has settled).
  const IDLE_MS = 250;
  bench.idle = (scope) => {
    if (bench.inflight > 0 || busyTrackers(scope) > 0) {
      bench.idleSince = null;
      return false;
    }
    if (bench.idleSince === null) bench.idleSince = now();
    return now() - bench.idleSince >= IDLE_MS;
  };

  function errorShown() {
    const toast = document.querySelector(".toast-body.error");
    return toast ? toast.innerText.replace(/\s+/g, " ").replace(/^Error × /, "").trim().slice(0, 400) || "an error toast" : null;
  }

  // Arm before the action: the first pointerdown / keydown / click after this is the action's moment.
  performance.setResourceTimingBufferSize(100000);
  bench.arm = (spec) => {
    performance.clearResourceTimings();
    const watch = { spec, before: snapshot(spec), action: null, finished: null, error: null, left: [], requestsFrom: bench.requests.length };
    bench.watch = watch;
    const onAction = () => {
      if (watch.action === null) watch.action = now();
    };
    for (const type of ["pointerdown", "keydown", "click"]) window.addEventListener(type, onAction, { capture: true, once: true });
    const frame = () => {
      if (bench.watch !== watch || watch.finished !== null || watch.error !== null) return;
      if (watch.action !== null) {
        const error = errorShown();
        if (error) { watch.error = error; return; }
        watch.left = missing(spec, watch.before);
        if (!watch.left.length) { watch.finished = now(); return; }
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    return watch.before.size;
  };

  bench.result = () => {
    const w = bench.watch;
    if (!w) return null;
    return {
      action: w.action,
      finished: w.finished,
      error: w.error,
      left: w.left,
      requests: bench.requests.slice(w.requestsFrom),
      media: performance
        .getEntriesByType("resource")
        .filter((e) => /\/file=/.test(e.name) && w.action !== null && performance.timeOrigin + e.startTime >= w.action)
        .map((e) => ({ start: performance.timeOrigin + e.startTime, end: performance.timeOrigin + e.responseEnd, bytes: e.transferSize })),
    };
  };
})();
