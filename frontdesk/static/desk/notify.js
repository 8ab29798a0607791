// Sounds and browser notifications: a chat offered to me ("chat.offered" with
// data.member = my member id), a visitor's new message in a chat assigned to me, and due times
// (sla.warning / sla.breached / promise.at_risk) of my conversations — or, for supervisors, of
// unassigned ones and every breach.
//
// Off until the agent presses the "Enable notifications" button (a user gesture: the only moment a
// browser lets a page ask for the permission, and lets it make sounds); the choice is kept in
// localStorage, so it holds in every tab and after reloads. Nothing is asked on page load.
// Listens to desk/realtime.js ("desk:event"); learns which chats are mine from /t/<slug>/me/chats/
// and then from the events. With several tabs open, one of them rings.
(() => {
  "use strict";

  const STORE_KEY = "frontdesk.notify";       // "on" | "off"
  const RUNG_KEY = "frontdesk.notify.rung";   // events a tab already rang for (JSON list)
  const RUNG_MAX = 50;
  const STALE_MS = 5 * 60 * 1000;             // events replayed after a long disconnection stay quiet

  const body = document.body;
  const tenant = body ? body.dataset.tenant : "";
  if (!tenant) return;

  // Translated strings from the page (templates/desk/inbox/_js_strings.html); English as fallback.
  const STRINGS = {
    notify_enable: "Enable notifications",
    notify_disable: "Turn off notifications",
    notify_blocked: "Notifications are blocked in this browser's settings; only the sound plays.",
    notify_offered_title: "New chat for you",
    notify_offered: "Chat #{number} is offered to you.",
    notify_message_title: "New chat message",
    notify_message: "The visitor wrote in chat #{number}.",
  };
  try {
    Object.assign(STRINGS, JSON.parse((document.getElementById("workspace-strings") || {}).textContent || "{}"));
  } catch (error) { /* keep the fallback */ }
  const t = (key) => STRINGS[key] || key;

  const canNotify = "Notification" in window;
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  const slug = encodeURIComponent(tenant);
  const conversationUrl = (number) => `/t/${slug}/c/${number}/`;

  // --- the choice ---------------------------------------------------------------------------------
  const stored = () => { try { return localStorage.getItem(STORE_KEY); } catch (error) { return null; } };
  const store = (value) => { try { localStorage.setItem(STORE_KEY, value); } catch (error) { /* private mode */ } };
  const enabled = () => stored() === "on";

  // --- what is mine ------------------------------------------------------------------------------
  // My member id: from the agent socket's hello (realtime.js), else the page's, else me/chats/.
  let me = body.dataset.member ? Number(body.dataset.member) : null;
  const myId = () => (window.deskRealtime && Number.isInteger(window.deskRealtime.member) ? window.deskRealtime.member : me);
  const chatChannels = new Set();
  const mine = new Set(); // conversation numbers assigned to me (chats), kept up to date by events
  let loading = null;

  function load() {
    if (loading) return loading;
    loading = fetch(`/t/${slug}/me/chats/`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        me = Number(data.member);
        chatChannels.clear();
        mine.clear();
        (data.channels || []).forEach((id) => chatChannels.add(id));
        (data.mine || []).forEach((number) => mine.add(number));
      })
      .catch(() => {})
      .finally(() => { loading = null; });
    return loading;
  }

  // --- the sound ----------------------------------------------------------------------------------
  let audio = null;

  function audioContext() {
    if (!audio && AudioContextClass) {
      try { audio = new AudioContextClass(); } catch (error) { audio = null; }
    }
    return audio;
  }

  // A page may only make sounds after the person interacted with it: wake the audio then.
  function unlock() {
    if (!enabled()) return;
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  }
  document.addEventListener("pointerdown", unlock, { capture: true });
  document.addEventListener("keydown", unlock, { capture: true });

  // Two short rising tones, made here (no sound file to fetch).
  function chime() {
    const ctx = audioContext();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    const start = ctx.currentTime + 0.02;
    [[880, 0], [1318.5, 0.15]].forEach(([frequency, offset]) => {
      const tone = ctx.createOscillator();
      const gain = ctx.createGain();
      tone.type = "sine";
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
      tone.connect(gain);
      gain.connect(ctx.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.15);
    });
  }

  // --- ringing --------------------------------------------------------------------------------------

  // True for the first tab of this browser to handle the event (the others stay quiet).
  function firstToRing(key) {
    try {
      const rung = JSON.parse(localStorage.getItem(RUNG_KEY) || "[]");
      if (Array.isArray(rung) && rung.includes(key)) return false;
      const next = (Array.isArray(rung) ? rung : []).concat([key]).slice(-RUNG_MAX);
      localStorage.setItem(RUNG_KEY, JSON.stringify(next));
    } catch (error) { /* no storage: every tab rings */ }
    return true;
  }

  function ring(event, title, text) {
    if (!enabled()) return;
    const at = Date.parse(event.at || "");
    if (Number.isFinite(at) && Date.now() - at > STALE_MS) return;
    if (!firstToRing(`${tenant}:${event.id}`)) return;
    const number = event.conversation;
    // The agent is looking at this very chat: they see it already.
    if (document.visibilityState === "visible" && Number(body.dataset.conversation) === number) return;
    chime();
    if (!canNotify || Notification.permission !== "granted") return;
    try {
      const note = new Notification(title, { body: text, tag: `frontdesk-${tenant}-${number}` });
      note.onclick = () => {
        window.focus();
        note.close();
        const url = conversationUrl(number);
        if (location.pathname !== url) location.assign(url);
      };
    } catch (error) {
      /* some browsers (Android) show notifications only from a service worker: the sound stays */
    }
  }

  document.addEventListener("desk:event", (ev) => {
    const e = ev.detail || {};
    const data = e.data || {};
    const number = e.conversation;
    if (number == null) return;
    if (e.kind === "chat.offered") {
      if (data.member === myId()) {
        mine.add(number);
        ring(e, t("notify_offered_title"), t("notify_offered").replace("{number}", number));
      } else {
        mine.delete(number);
      }
    } else if (e.kind === "conversation.assigned") {
      if (data.assignee === myId()) mine.add(number); else mine.delete(number);
    } else if (e.kind === "message.created" && data.direction === "in" && !data.bounce &&
               chatChannels.has(data.channel) && mine.has(number)) {
      ring(e, t("notify_message_title"), t("notify_message").replace("{number}", number));
    } else if (e.kind === "sla.warning" || e.kind === "sla.breached" || e.kind === "promise.at_risk") {
      // Due times: the assignee hears of their conversation; supervisors of the ones nobody has,
      // and of every breach and broken promise.
      const forMe = data.assignee === myId();
      const supervisor = body.dataset.supervisor === "1";
      if (!forMe && !(supervisor && (data.assignee == null || e.kind !== "sla.warning"))) return;
      const key = e.kind === "sla.warning" ? "sla_warning" : e.kind === "sla.breached" ? "sla_breached" : "promise_at_risk";
      ring(e, t(`notify_${key}_title`), t(`notify_${key}`).replace("{number}", number));
    }
  });

  let wasOffline = false;
  document.addEventListener("desk:connection", (ev) => {
    const online = ev.detail && ev.detail.state === "online";
    // Assignments may have changed while the socket was away.
    if (online && wasOffline && enabled()) load();
    wasOffline = !online;
  });

  // --- the button -----------------------------------------------------------------------------------

  function showButtons() {
    const on = enabled();
    const blocked = canNotify && Notification.permission === "denied";
    for (const button of document.querySelectorAll("[data-notify-toggle]")) {
      button.hidden = !(canNotify || AudioContextClass);
      button.setAttribute("aria-pressed", String(on));
      button.textContent = on ? t("notify_disable") : t("notify_enable");
      button.classList.toggle("is-on", on);
      if (on && blocked) button.title = t("notify_blocked"); else button.removeAttribute("title");
    }
  }

  async function toggle() {
    if (enabled()) {
      store("off");
      showButtons();
      return;
    }
    store("on");
    unlock(); // this click is the gesture that lets the page make sounds
    if (canNotify && Notification.permission === "default") {
      try { await Notification.requestPermission(); } catch (error) { /* refused or unsupported */ }
    }
    showButtons();
    chime(); // so the agent hears what it sounds like
    load();
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("[data-notify-toggle]");
    if (button) { event.preventDefault(); toggle(); }
  });

  // Another tab changed the choice.
  window.addEventListener("storage", (event) => {
    if (event.key !== STORE_KEY) return;
    showButtons();
    if (enabled()) load();
  });

  showButtons();
  if (enabled()) load();
})();
