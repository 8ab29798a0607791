// Live updates and the collision warning for agent pages (protocol: docs/realtime.md).
//
// One WebSocket per page to /ws/t/<body data-tenant>/. What pages listen to, on `document`:
//   "desk:event"      detail = {id, kind, conversation, actor, data, at}   (each event once)
//   "desk:presence"   detail = {conversation, viewers: [{member, name, state}]}  (other agents only)
//   "desk:connection" detail = {state: "online" | "offline"}
//   "desk:typing"     detail = {conversation, who: "customer", state: true | false}  (a chat visitor)
// window.deskRealtime.member is my member id (from the socket's hello; null before it).
// With <body data-conversation="N"> the page says it is viewing conversation N (renewed every 15 s,
// "left" when the page goes away). The composer calls window.deskRealtime.replying(N, true|false);
// "replying" falls back to "viewing" when it is not renewed.
(() => {
  "use strict";

  const RENEW_MS = 15000;        // re-announce our presence this often (server keeps it 40 s)
  const REPLYING_MS = 60000;     // "replying" lasts this long after the composer's last call
  const PING_MS = 25000;         // keep proxies from closing an idle socket
  const SILENCE_MS = 60000;      // nothing heard for this long: the socket is dead, reconnect
  const SWEEP_MS = 2000;         // drop expired viewers / replying this often
  const SETTLE_MS = 5000;        // events younger than this are asked for again on resume
  const SEEN_MAX = 2000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const CLOSE_NOT_SIGNED_IN = 4401;
  const CLOSE_NOT_A_MEMBER = 4404;

  const tenant = document.body ? document.body.dataset.tenant : "";
  if (!tenant || !("WebSocket" in window)) {
    window.deskRealtime = { member: null, replying() {} };
    return;
  }

  const emit = (name, detail) => document.dispatchEvent(new CustomEvent(name, { detail }));
  const conversationNumber = (value) => {
    const n = typeof value === "number" ? value : parseInt(value, 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const pageConversation = () => conversationNumber(document.body.dataset.conversation);

  // --- the event stream: resume point and de-duplication -------------------------------------
  // `settled` is the id we resume after. Events ids are not always committed in id order, so the
  // last few seconds of events are asked for again on resume and dropped here if already seen.
  let settled = conversationNumber(document.body.dataset.lastEvent);
  const seen = new Set();
  const seenOrder = [];
  let recent = []; // [id, receivedAt] not yet folded into `settled`

  const settle = (now) => {
    const keep = [];
    for (const [id, at] of recent) {
      if (now - at >= SETTLE_MS) settled = settled === null ? id : Math.max(settled, id);
      else keep.push([id, at]);
    }
    recent = keep;
  };

  const onEvent = (event) => {
    if (!event || !Number.isInteger(event.id) || seen.has(event.id)) return;
    seen.add(event.id);
    seenOrder.push(event.id);
    if (seenOrder.length > SEEN_MAX) seen.delete(seenOrder.shift());
    recent.push([event.id, Date.now()]);
    emit("desk:event", event);
  };

  // --- presence of others: conversation → "member:tab" → {member, name, state, expires} ------
  const others = new Map();

  const emitViewers = (conversation) => {
    const tabs = others.get(conversation);
    const byMember = new Map();
    if (tabs) {
      for (const v of tabs.values()) {
        const known = byMember.get(v.member);
        if (!known) byMember.set(v.member, { member: v.member, name: v.name, state: v.state });
        else if (v.state === "replying") known.state = "replying";
      }
    }
    const viewers = [...byMember.values()].sort((a, b) => a.name.localeCompare(b.name));
    emit("desk:presence", { conversation, viewers });
  };

  const onPresence = (msg) => {
    const conversation = conversationNumber(msg.conversation);
    if (conversation === null) return;
    const key = `${msg.member}:${msg.tab || ""}`;
    let tabs = others.get(conversation);
    if (msg.state === "left") {
      if (!tabs || !tabs.delete(key)) return;
      if (!tabs.size) others.delete(conversation);
    } else {
      if (!tabs) others.set(conversation, (tabs = new Map()));
      tabs.set(key, {
        member: msg.member,
        name: String(msg.name || ""),
        state: msg.state === "replying" ? "replying" : "viewing",
        expires: Date.now() + Math.max(1, Number(msg.expires_in) || 0) * 1000,
      });
    }
    emitViewers(conversation);
  };

  const expireOthers = (now) => {
    for (const [conversation, tabs] of others) {
      let changed = false;
      for (const [key, v] of tabs) {
        if (v.expires <= now) { tabs.delete(key); changed = true; }
      }
      if (!tabs.size) others.delete(conversation);
      if (changed) emitViewers(conversation);
    }
  };

  const forgetOthers = () => {
    const conversations = [...others.keys()];
    others.clear();
    conversations.forEach(emitViewers);
  };

  // --- a chat visitor typing: passed on as it comes (the page clears it after a while) -----------
  const onTyping = (msg) => {
    const conversation = conversationNumber(msg.conversation);
    if (conversation === null) return;
    emit("desk:typing", { conversation, who: String(msg.who || ""), state: msg.state === true });
  };

  // --- our own presence ------------------------------------------------------------------------
  const replyingUntil = new Map(); // conversation → timestamp
  const announced = new Map();     // conversation → state last sent on this socket
  let viewing = pageConversation();

  const wantedStates = (now) => {
    const states = new Map();
    if (viewing !== null) states.set(viewing, "viewing");
    for (const [conversation, until] of replyingUntil) {
      if (until > now) states.set(conversation, "replying");
      else replyingUntil.delete(conversation);
    }
    return states;
  };

  // Send what changed; with `renew`, send everything again (keeps it alive on the others' side).
  const announce = (renew) => {
    if (!online) return;
    const states = wantedStates(Date.now());
    for (const [conversation, state] of states) {
      if (renew || announced.get(conversation) !== state) {
        send({ type: "presence", conversation, state });
        announced.set(conversation, state);
      }
    }
    for (const conversation of [...announced.keys()]) {
      if (!states.has(conversation)) {
        send({ type: "presence", conversation, state: "left" });
        announced.delete(conversation);
      }
    }
  };

  // --- the socket ------------------------------------------------------------------------------
  let socket = null;
  let online = false;
  let retries = 0;
  let reconnectTimer = null;
  let lastHeard = 0;
  let stopped = false;

  const send = (msg) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  };

  const setOnline = (value) => {
    if (online === value) return;
    online = value;
    emit("desk:connection", { state: value ? "online" : "offline" });
  };

  const url = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    settle(Date.now()); // events younger than SETTLE_MS stay unsettled: replayed, then deduplicated
    return `${scheme}//${location.host}/ws/t/${encodeURIComponent(tenant)}/` +
      (settled !== null ? `?after=${settled}` : "");
  };

  const connect = () => {
    reconnectTimer = null;
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const ws = new WebSocket(url());
    socket = ws;
    lastHeard = Date.now(); // the silence clock starts now, not at the last socket's last word
    ws.onmessage = (message) => {
      if (ws !== socket) return;
      lastHeard = Date.now();
      let msg;
      try { msg = JSON.parse(message.data); } catch { return; }
      switch (msg.type) {
        case "hello":
          if (Number.isInteger(msg.member)) window.deskRealtime.member = msg.member;
          if (settled === null) settled = msg.last_event;
          retries = 0;
          announced.clear();
          setOnline(true);
          announce(true);
          break;
        case "event": onEvent(msg.event); break;
        case "presence": onPresence(msg); break;
        case "typing": onTyping(msg); break;
        case "reload": location.reload(); break;
        default: break; // pong, error
      }
    };
    ws.onclose = (closing) => dropped(ws, closing.code);
    ws.onerror = () => {}; // onclose follows and handles it
  };

  const dropped = (ws, code) => {
    if (ws !== socket) return;
    socket = null;
    ws.onmessage = ws.onclose = ws.onerror = null;
    setOnline(false);
    forgetOthers();
    if (stopped || code === CLOSE_NOT_SIGNED_IN || code === CLOSE_NOT_A_MEMBER) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** retries) * (0.5 + Math.random() / 2);
    retries = Math.min(retries + 1, 10);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
  };

  const reconnectNow = () => {
    if (stopped || socket) return;
    clearTimeout(reconnectTimer);
    connect();
  };

  // Keep-alive and dead-socket detection.
  setInterval(() => {
    if (!socket) return;
    if (Date.now() - lastHeard > SILENCE_MS) { // also a connection attempt that hangs
      const ws = socket;
      try { ws.close(); } catch { /* already closing */ }
      dropped(ws, 1006);
      return;
    }
    send({ type: "ping" });
  }, PING_MS);

  setInterval(() => announce(true), RENEW_MS);

  setInterval(() => {
    const now = Date.now();
    expireOthers(now);
    announce(false); // a "replying" that was not renewed turns back into "viewing"
    settle(now);
  }, SWEEP_MS);

  // The page may switch conversations without a reload (htmx swaps).
  new MutationObserver(() => {
    const current = pageConversation();
    if (current !== viewing) { viewing = current; announce(false); }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-conversation"] });

  window.addEventListener("pagehide", () => {
    viewing = null;
    replyingUntil.clear();
    announce(false);
    stopped = true;
    clearTimeout(reconnectTimer);
    if (socket) {
      const ws = socket;
      dropped(ws, 1000);
      ws.close(1000);
    }
  });
  window.addEventListener("pageshow", (page) => {
    if (!page.persisted) return; // restored from the back/forward cache: come back online
    stopped = false;
    viewing = pageConversation();
    reconnectNow();
  });
  window.addEventListener("online", reconnectNow);

  window.deskRealtime = {
    member: null,
    replying(conversation, isReplying) {
      const n = conversationNumber(conversation);
      if (n === null) return;
      if (isReplying) replyingUntil.set(n, Date.now() + REPLYING_MS);
      else replyingUntil.delete(n);
      announce(false);
    },
  };

  connect();
})();
