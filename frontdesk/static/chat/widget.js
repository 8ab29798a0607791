// Frontdesk live chat: the visitor's side of a chat channel (protocol: docs/chat.md).
//
// Installed with one tag on the shop's pages, served by Frontdesk at /chat/<pid>/widget.js:
//   <script src="https://desk.example.com/chat/<pid>/widget.js" async></script>
// The page may set, before the tag:
//   window.FrontdeskChat = {user: {id, email, name, phone, hash}, language: "pl"}
// and call window.FrontdeskChat.open() / .close() at any time after it.
//
// Everything lives in the shadow root of a <frontdesk-chat> element at the end of <body>: the
// shop's CSS does not reach in, ours does not leak out. Everything the server sends (names, texts,
// file names, URLs) is untrusted: it enters the DOM as text nodes and attributes only, and its URLs
// become links or images only when they point at the Frontdesk server itself.
//
// Strings are the keys of TEXTS; config.texts from the server overrides any of them (that is how a
// shop rewords them or adds a language). Keys with numbers have one entry per CLDR plural category:
// "wait.one", "wait.few", "wait.many", "wait.other".
(() => {
  "use strict";

  const PING_MS = 25000;                // keep proxies from closing an idle socket
  const SILENCE_MS = 60000;             // nothing heard for this long: the socket is dead
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const FAILURES_BEFORE_POLLING = 3;    // WebSocket attempts in a row that never got a welcome
  const WS_RETRY_WHILE_POLLING_MS = 60000;
  const POLL_OPEN_MS = 3000;
  const POLL_CLOSED_MS = 15000;
  const HEARTBEAT_MS = 30000;           // polling mode: POST /page so agents see the visitor is here
  const TYPING_IDLE_MS = 5000;
  const AGENT_TYPING_MAX_MS = 60000;    // hide "Anna is typing…" if the "stopped" frame got lost
  const FRAME_MAX_CHARS = 8192;         // the server refuses bigger frames: such messages go by HTTP
  const URL_CHECK_MS = 2000;            // single-page shops change the URL without an event
  const SESSION_ATTEMPTS = 8;
  const PENDING_MAX = 50;
  const CLOSE_BAD_HELLO = 4401;
  const CLOSE_ORIGIN = 4403;
  const CLOSE_NO_CHANNEL = 4404;

  // --- Where we come from: the server's base URL and the channel's public id ----------------------
  const SCRIPT_RE = /\/chat\/([^/?#]+)\/widget\.js(?:[?#]|$)/;
  const script = (() => {
    const current = document.currentScript;
    if (current && SCRIPT_RE.test(current.src || "")) return current;
    const all = [...document.getElementsByTagName("script")].filter((s) => SCRIPT_RE.test(s.src || ""));
    return all[all.length - 1] || null;
  })();
  const located = script && new URL(script.src, location.href);
  const parts = located && located.pathname.match(/^(.*)\/chat\/([^/]+)\/widget\.js$/);
  if (!parts || !/^https?:$/.test(located.protocol)) {
    console.warn("Frontdesk chat: cannot tell the widget's own address; the chat stays hidden.");
    return;
  }
  const BASE = located.origin + parts[1]; // the Frontdesk server, possibly under a path prefix
  const PID = parts[2];                   // already URL-encoded as it appears in the path
  const API = `${BASE}/chat/${PID}`;

  // --- The page's settings object, which also carries our open()/close() ----------------------------
  const settings = window.FrontdeskChat && typeof window.FrontdeskChat === "object" ? window.FrontdeskChat : {};
  if (settings.__frontdesk) return; // the snippet pasted twice: one widget is enough
  Object.defineProperty(settings, "__frontdesk", { value: true });
  window.FrontdeskChat = settings;
  let requested = null; // open()/close() called before the widget was ready
  settings.open = () => (ui ? openPanel(true) : (requested = "open"));
  settings.close = () => (ui ? closePanel(false) : (requested = "close"));

  // --- Storage that survives a browser refusing it (private modes, disabled cookies) ---------------
  const storage = (name) => {
    const memory = new Map();
    let area = null;
    try { area = window[name]; area.getItem("frontdesk"); } catch { area = null; }
    const k = (key) => `frontdesk:${PID}:${key}`;
    return {
      get(key, fallback) {
        let raw = memory.has(k(key)) ? memory.get(k(key)) : null;
        try { if (area) raw = area.getItem(k(key)); } catch { /* keep the copy in memory */ }
        try { const value = JSON.parse(raw); return value === null ? fallback : value; } catch { return fallback; }
      },
      set(key, value) {
        const raw = JSON.stringify(value);
        memory.set(k(key), raw);
        try { if (area) area.setItem(k(key), raw); } catch { /* full or refused: memory only */ }
      },
      remove(key) {
        memory.delete(k(key));
        try { if (area) area.removeItem(k(key)); } catch { /* refused */ }
      },
    };
  };
  const local = storage("localStorage");   // the visitor token and unsent messages
  const visit = storage("sessionStorage"); // per visit: invitations shown, panel open, teaser dismissed

  // --- Texts -----------------------------------------------------------------------------------------
  const TEXTS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us",
      messages: "Messages", message: "Message", placeholder: "Write a message…", send: "Send",
      attach: "Attach a file", you: "You",
      "wait.one": "We usually answer in about {n} minute.",
      "wait.other": "We usually answer in about {n} minutes.",
      offline: "No one is available right now.",
      offline_leave: "Leave a message and tell us how to answer you.",
      "unread.one": "{n} unread message", "unread.other": "{n} unread messages",
      typing: "{name} is typing…", typing_someone: "Typing…", read: "Read", sending: "Sending…",
      not_sent: "Not sent: {reason}", reconnecting: "Connection lost. Reconnecting…",
      prechat: "Before we start, please tell us how to reach you.",
      name: "Your name", email: "Email address", phone: "Phone number", optional: "optional",
      required: "Please fill this in.", reply_question: "How would you like us to answer?",
      via_chat: "Here in the chat, when we are back", via_email: "By email", via_sms: "By text message",
      via_call: "By phone call", call_window: "When may we call? (for example, after 18:00)",
      submit: "Confirm",
      confirm_chat: "We will answer here in the chat when we are back.",
      confirm_email: "We will answer by email at {email}.",
      confirm_sms: "We will answer by text message to {phone}.",
      confirm_call: "We will call you at {phone}.",
      confirm_call_window: "We will call you at {phone} ({window}).",
      file_too_big: "This file is too large: at most {size}.",
      file_type: "Files of this type cannot be sent.",
      failed: "Something went wrong. Please try again.",
      dismiss: "Dismiss", size_b: "{n} B", size_kb: "{n} KB", size_mb: "{n} MB",
    },
    pl: {
      open: "Otwórz czat", close: "Zamknij czat", title: "Napisz do nas",
      messages: "Wiadomości", message: "Wiadomość", placeholder: "Napisz wiadomość…", send: "Wyślij",
      attach: "Dołącz plik", you: "Ty",
      "wait.one": "Zwykle odpowiadamy w ciągu około {n} minuty.",
      "wait.few": "Zwykle odpowiadamy w ciągu około {n} minut.",
      "wait.many": "Zwykle odpowiadamy w ciągu około {n} minut.",
      "wait.other": "Zwykle odpowiadamy w ciągu około {n} minuty.",
      offline: "W tej chwili nikt z nas nie jest dostępny.",
      offline_leave: "Zostaw wiadomość i napisz, jak mamy Ci odpowiedzieć.",
      "unread.one": "{n} nieprzeczytana wiadomość", "unread.few": "{n} nieprzeczytane wiadomości",
      "unread.many": "{n} nieprzeczytanych wiadomości", "unread.other": "{n} nieprzeczytanej wiadomości",
      typing: "{name} pisze…", typing_someone: "Ktoś pisze…", read: "Przeczytane", sending: "Wysyłanie…",
      not_sent: "Nie wysłano: {reason}", reconnecting: "Utracono połączenie. Łączymy ponownie…",
      prechat: "Zanim zaczniemy, napisz, jak możemy się z Tobą skontaktować.",
      name: "Imię i nazwisko", email: "Adres e-mail", phone: "Numer telefonu", optional: "opcjonalnie",
      required: "To pole jest wymagane.", reply_question: "Jak mamy Ci odpowiedzieć?",
      via_chat: "Tutaj na czacie, gdy wrócimy", via_email: "E-mailem", via_sms: "SMS-em",
      via_call: "Telefonicznie", call_window: "Kiedy możemy zadzwonić? (na przykład po 18:00)",
      submit: "Potwierdź",
      confirm_chat: "Odpowiemy tutaj na czacie, gdy wrócimy.",
      confirm_email: "Odpowiemy e-mailem na adres {email}.",
      confirm_sms: "Odpowiemy SMS-em na numer {phone}.",
      confirm_call: "Zadzwonimy pod numer {phone}.",
      confirm_call_window: "Zadzwonimy pod numer {phone} ({window}).",
      file_too_big: "Ten plik jest za duży: najwyżej {size}.",
      file_type: "Nie można wysyłać plików tego typu.",
      failed: "Coś poszło nie tak. Spróbuj ponownie.",
      dismiss: "Ukryj", size_b: "{n} B", size_kb: "{n} KB", size_mb: "{n} MB",
    },
    ru: {
      open: "Открыть чат", close: "Закрыть чат", title: "Напишите нам",
      messages: "Сообщения", message: "Сообщение", placeholder: "Напишите сообщение…", send: "Отправить",
      attach: "Прикрепить файл", you: "Вы",
      "wait.one": "Обычно мы отвечаем примерно за {n} минуту.",
      "wait.few": "Обычно мы отвечаем примерно за {n} минуты.",
      "wait.many": "Обычно мы отвечаем примерно за {n} минут.",
      "wait.other": "Обычно мы отвечаем примерно за {n} минуты.",
      offline: "Сейчас никого из нас нет на месте.",
      offline_leave: "Оставьте сообщение и выберите, как вам ответить.",
      "unread.one": "{n} непрочитанное сообщение", "unread.few": "{n} непрочитанных сообщения",
      "unread.many": "{n} непрочитанных сообщений", "unread.other": "{n} непрочитанного сообщения",
      typing: "{name} печатает…", typing_someone: "Печатает…", read: "Прочитано", sending: "Отправка…",
      not_sent: "Не отправлено: {reason}", reconnecting: "Связь потеряна. Подключаемся снова…",
      prechat: "Прежде чем начать, расскажите, как с вами связаться.",
      name: "Ваше имя", email: "Адрес электронной почты", phone: "Номер телефона", optional: "необязательно",
      required: "Заполните это поле.", reply_question: "Как вам ответить?",
      via_chat: "Здесь, в чате, когда мы вернёмся", via_email: "По электронной почте", via_sms: "SMS-сообщением",
      via_call: "Звонком", call_window: "Когда вам можно позвонить? (например, после 18:00)",
      submit: "Подтвердить",
      confirm_chat: "Мы ответим здесь, в чате, когда вернёмся.",
      confirm_email: "Мы ответим по электронной почте на адрес {email}.",
      confirm_sms: "Мы ответим SMS-сообщением на номер {phone}.",
      confirm_call: "Мы позвоним вам по номеру {phone}.",
      confirm_call_window: "Мы позвоним вам по номеру {phone} ({window}).",
      file_too_big: "Файл слишком большой: не более {size}.",
      file_type: "Файлы такого типа отправлять нельзя.",
      failed: "Что-то пошло не так. Попробуйте ещё раз.",
      dismiss: "Скрыть", size_b: "{n} Б", size_kb: "{n} КБ", size_mb: "{n} МБ",
    },
  };

  // The page's choice first, then the document's language, then the browser's; the server's
  // language for the visitor only when none of these says anything.
  const primary = (tag) => (typeof tag === "string" ? tag.trim().toLowerCase().split(/[-_]/)[0] : "");
  const asked = [settings.language, document.documentElement.lang, navigator.language].map(primary).find(Boolean) || "";
  let lang = asked || "en";
  let overrides = {};

  const lookup = (key) => {
    if (typeof overrides[key] === "string") return overrides[key];
    const own = TEXTS[lang] || TEXTS.en;
    return own[key] !== undefined ? own[key] : TEXTS.en[key];
  };
  const fill = (text, vars) => String(text === undefined ? "" : text)
    .replace(/\{(\w+)\}/g, (all, name) => (vars && vars[name] !== undefined ? String(vars[name]) : all));
  const t = (key, vars) => fill(lookup(key), vars);
  const number = (n, digits = 0) => {
    try { return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n); } catch { return String(n); }
  };
  const tn = (key, n, vars) => {
    let category = n === 1 ? "one" : "other";
    try { category = new Intl.PluralRules(lang).select(n); } catch { /* an odd tag: English rules */ }
    const text = lookup(`${key}.${category}`);
    return fill(text !== undefined ? text : lookup(`${key}.other`), { ...vars, n: number(n) });
  };
  const fileSize = (bytes) => {
    if (bytes < 1024) return t("size_b", { n: number(bytes) });
    if (bytes < 1024 * 1024) return t("size_kb", { n: number(Math.round(bytes / 1024)) });
    return t("size_mb", { n: number(bytes / 1048576, 1) });
  };

  // --- Small helpers ---------------------------------------------------------------------------------
  const str = (value) => (typeof value === "string" ? value : "");
  const isId = (value) => Number.isInteger(value) && value > 0;
  const backoff = (attempt) => Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const newClientId = () => {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  };
  const pageInfo = () => ({ url: location.href, title: document.title });
  const fromShop = (message) => message.from === "agent" || message.from === "bot";

  // A URL from the server becomes a link or an image only if it points at the Frontdesk server.
  const serverUrl = (value) => {
    if (typeof value !== "string" || !value) return null;
    let url;
    try { url = new URL(value, BASE + "/"); } catch { return null; }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    return url.href.startsWith(BASE + "/") ? url.href : null;
  };

  // Build DOM nodes; strings become text nodes, never markup.
  const h = (tag, props, ...children) => {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
    return el;
  };
  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5zM11.5 13.5L20 4",
    attach: "M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.4 3.4 0 0 1 4.8 4.8L9.8 17.3a1.7 1.7 0 0 1-2.4-2.4L15 7.3",
  };
  const icon = (name) => {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", `i-${name}`);
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  };

  // Text with its line breaks (CSS pre-wrap) and its http(s) URLs as links, built as nodes.
  const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"]+/gi;
  const richText = (text) => {
    const nodes = [];
    let last = 0;
    for (const found of text.matchAll(URL_IN_TEXT)) {
      let url = found[0].replace(/[.,;:!?'»”]+$/, "");
      if (url.endsWith(")") && !url.includes("(")) url = url.slice(0, -1);
      nodes.push(text.slice(last, found.index));
      nodes.push(h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, url));
      last = found.index + url.length;
    }
    nodes.push(text.slice(last));
    return nodes;
  };

  // Initials in a coloured circle; the palette keeps white text readable (contrast ≥ 4.5).
  const PALETTE = ["#1f6f8b", "#8e44ad", "#b03a2e", "#1e7a46", "#a04000", "#2c3e91", "#7b5b00", "#6c3483"];
  const avatar = (author) => {
    const url = serverUrl(author && author.avatar);
    if (url) return h("img", { class: "avatar", src: url, alt: "", referrerpolicy: "no-referrer" });
    const name = str(author && author.name).trim();
    const initials = name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => Array.from(w)[0]).join("").toUpperCase();
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    const el = h("span", { class: "avatar", "aria-hidden": "true" }, initials || "•");
    el.style.background = PALETTE[hash % PALETTE.length];
    return el;
  };

  // The shop's colour, and black or white on it, whichever reads better.
  const colours = (value) => {
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(str(value)) ? value : "#0b6bcb";
    const full = hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join("")}` : hex;
    const channel = (i) => {
      const c = parseInt(full.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const lum = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    const onWhite = 1.05 / (lum + 0.05);
    const onBlack = (lum + 0.05) / 0.05;
    // `ink`: the colour itself where it is readable on white, else near-black (icons, links).
    return { color: full, on: onWhite >= onBlack ? "#ffffff" : "#111111", ink: onWhite >= 3 ? full : "#1b1f24" };
  };

  // --- Styles (inside the shadow root only) ------------------------------------------------------------
  const CSS = `
/* The page's rules for "*" or our tag name would win over a plain :host rule; !important here wins. */
:host { all: initial !important; }
.fd { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1b1f24; letter-spacing: normal; word-spacing: normal; text-transform: none; text-align: start;
  text-indent: 0; text-shadow: none; white-space: normal; visibility: visible; cursor: auto;
  -webkit-text-size-adjust: 100%; }
.fd *, .fd *::before, .fd *::after { box-sizing: border-box; }
button, input, textarea { font: inherit; color: inherit; margin: 0; }
[hidden] { display: none !important; }
.vh { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
:focus-visible { outline: 3px solid #16181d; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
.launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; display: inline-flex;
  align-items: center; justify-content: center; gap: 8px; min-width: 56px; height: 56px; padding: 0 16px;
  border: 0; border-radius: 28px; background: var(--fd-color); color: var(--fd-on);
  box-shadow: 0 4px 14px rgba(0,0,0,.25); cursor: pointer; font-weight: 600; }
.launcher svg { width: 26px; height: 26px; fill: currentColor; flex: none; }
.launcher-text:empty { display: none; }
.badge { position: absolute; top: -5px; right: -5px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c62828; color: #fff; font-size: 12px; font-weight: 700; line-height: 22px;
  text-align: center; box-shadow: 0 0 0 2px #fff; }
.teaser { position: fixed; bottom: 88px; right: 20px; z-index: 2147483000; display: flex; align-items: flex-start;
  width: max-content; max-width: min(300px, calc(100vw - 40px)); background: #fff; border-radius: 14px;
  box-shadow: 0 6px 24px rgba(0,0,0,.22); }
.teaser-open { flex: 1; min-width: 0; text-align: start; background: none; border: 0; padding: 12px 4px 12px 14px;
  border-radius: 14px; cursor: pointer; }
.teaser-name { display: block; font-size: 13px; font-weight: 600; color: #4a5361; }
.teaser-text { display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.icon { flex: none; display: inline-grid; place-items: center; width: 40px; height: 40px; padding: 0; border: 0;
  border-radius: 10px; background: none; cursor: pointer; color: inherit; }
.icon svg { width: 22px; height: 22px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round;
  stroke-linejoin: round; }
.icon:hover { background: rgba(127,127,127,.16); }
.icon:disabled { opacity: .45; cursor: default; background: none; }
.panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483001; display: flex; flex-direction: column;
  width: 370px; height: min(620px, calc(100vh - 110px)); background: #fff; border-radius: 14px;
  box-shadow: 0 10px 40px rgba(0,0,0,.3); overflow: hidden; }
.left .launcher, .left .teaser, .left .panel { right: auto; left: 20px; }
.left .badge { right: auto; left: -5px; }
.header { display: flex; align-items: center; gap: 8px; padding: 10px 8px 10px 16px; background: var(--fd-color);
  color: var(--fd-on); }
.header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.notice { margin: 0; padding: 8px 16px; font-size: 13.5px; background: #f1f3f6; color: #353c47;
  border-bottom: 1px solid #e2e6ec; }
.notice.warn { background: #fff3e0; color: #5c3300; }
.scroll { flex: 1; overflow-y: auto; padding: 12px; overscroll-behavior: contain; }
.log { display: flex; flex-direction: column; gap: 3px; }
.row { display: flex; align-items: flex-end; gap: 8px; }
.row.head { margin-top: 10px; }
.row.visitor { justify-content: flex-end; }
.stack { display: flex; flex-direction: column; align-items: flex-start; max-width: 80%; min-width: 0; }
.visitor .stack { align-items: flex-end; }
.author { font-size: 12.5px; color: #535b68; margin: 0 0 2px 4px; }
.bubble { padding: 8px 12px; border-radius: 16px; background: #eef1f5; white-space: pre-wrap;
  overflow-wrap: anywhere; max-width: 100%; }
.visitor .bubble { background: var(--fd-color); color: var(--fd-on); }
.bubble a { color: inherit; text-decoration: underline; }
.bubble img { display: block; max-width: 100%; max-height: 240px; border-radius: 10px; margin: 4px 0; }
.file { display: block; }
.meta { font-size: 12px; color: #535b68; margin: 2px 6px 0; }
.meta:empty { display: none; }
.pending .bubble { opacity: .75; }
.failed .meta { color: #b3261e; }
.avatar { flex: none; display: grid; place-items: center; width: 28px; height: 28px; border-radius: 50%;
  font-size: 12px; font-weight: 700; color: #fff; object-fit: cover; }
.row:not(.head) .avatar { visibility: hidden; }
.row:not(.head) .author { display: none; }
.system { align-self: center; max-width: 90%; margin: 8px 0; font-size: 13px; color: #535b68; text-align: center;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.typing { margin: 6px 0 0 36px; font-size: 13px; font-style: italic; color: #535b68; }
.card { margin-top: 12px; padding: 12px; border: 1px solid #dce1e8; border-radius: 12px; background: #fafbfc;
  display: flex; flex-direction: column; gap: 10px; }
.card p, .card fieldset { margin: 0; }
fieldset { border: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; min-width: 0; }
legend { padding: 0; margin-bottom: 6px; font-weight: 600; }
.field label { display: block; margin-bottom: 3px; font-size: 13.5px; font-weight: 600; }
.field input { display: block; width: 100%; padding: 8px 10px; border: 1px solid #9aa3af; border-radius: 8px;
  background: #fff; font-size: 16px; }
.choice { display: flex; align-items: center; gap: 8px; cursor: pointer; }
.choice input { width: 18px; height: 18px; margin: 0; accent-color: var(--fd-ink); }
.field-error, .form-error { margin: 3px 0 0; color: #b3261e; font-size: 13px; }
[aria-invalid="true"] { border-color: #b3261e !important; }
.primary { align-self: flex-start; padding: 8px 18px; border: 0; border-radius: 8px; background: var(--fd-color);
  color: var(--fd-on); font-weight: 600; cursor: pointer; }
.primary:disabled { opacity: .6; cursor: default; }
.confirm { margin: 12px 0 0; padding: 10px 12px; border-radius: 12px; background: #e7f4ec; color: #16452a; }
.alert { margin: 0; padding: 8px 16px; font-size: 13.5px; background: #fdecea; color: #7f1d1a; }
.composer { display: flex; align-items: flex-end; gap: 2px; padding: 8px; border-top: 1px solid #e2e6ec; }
.composer textarea { flex: 1; min-width: 0; height: 42px; max-height: 140px; resize: none; padding: 9px 10px;
  border: 1px solid #9aa3af; border-radius: 10px; background: #fff; font-size: 16px; line-height: 1.4; }
.composer .send { color: var(--fd-ink); }
@media (max-width: 480px) {
  .fd .panel { inset: 0; width: auto; height: auto; border-radius: 0; }
  .open .launcher, .open .teaser { display: none; }
}
@media (prefers-reduced-motion: no-preference) { .teaser { animation: fd-in .2s ease-out; } }
@keyframes fd-in { from { opacity: 0; transform: translateY(6px); } }
`;

  // --- State -------------------------------------------------------------------------------------------
  let session = null;
  let config = {};
  let availability = { online: false };
  let token = local.get("token", null);
  let conversation = null;  // the conversation the visitor's next message continues
  let ui = null;            // the DOM, once built
  let isOpen = false;
  let unread = 0;
  let readSent = 0;         // the largest up_to the server has from us
  let acceptedInvitation = visit.get("invitation", null); // {id, text}, until the first message

  const shown = new Map();  // message id → {message, row}
  const order = [];         // ids of `shown`, ascending
  let maxId = 0;
  // Messages written but not acknowledged, in localStorage so a reload sends them again.
  let pending = (local.get("pending", []) || []).filter((p) => p && typeof p.client_id === "string" && typeof p.text === "string");
  const pendingRows = new Map(); // client_id → row
  const settled = new Set();     // client ids acknowledged on this page (another tab may still list them)

  const savePending = () => {
    const mine = new Set(pending.map((p) => p.client_id));
    const stored = local.get("pending", []);
    // Keep what other tabs of the same site are still sending.
    const others = (Array.isArray(stored) ? stored : []).filter((p) => p && !mine.has(p.client_id) && !settled.has(p.client_id));
    const all = [...others, ...pending].slice(-PENDING_MAX);
    if (all.length) local.set("pending", all);
    else local.remove("pending");
  };

  // --- The HTTP side -----------------------------------------------------------------------------------
  const api = async (method, path, body) => {
    const headers = {};
    if (token) headers["X-Frontdesk-Visitor"] = token;
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const response = await fetch(API + path, { method, headers, body: payload, mode: "cors", credentials: "omit", cache: "no-store" });
    let data = null;
    if (response.status !== 204) { try { data = await response.json(); } catch { data = null; } }
    const error = (data && typeof data.error === "object" && data.error) || {};
    return { status: response.status, ok: response.ok, data: data || {}, code: str(error.code), message: str(error.message), fields: error.fields || {} };
  };

  const reachable = () => fetch(`${API}/session`, { mode: "no-cors", credentials: "omit", cache: "no-store" })
    .then(() => true, () => false);

  // POST /session: a token for this browser, the channel's config and who is available.
  const startSession = async () => {
    let user = settings.user && typeof settings.user === "object" ? settings.user : null;
    for (let attempt = 0; attempt < SESSION_ATTEMPTS; attempt++) {
      let answer;
      try {
        answer = await api("POST", "/session", {
          token: token || undefined, user: user || undefined, language: asked || undefined,
          page: { ...pageInfo(), referrer: document.referrer },
        });
      } catch {
        // A refused CORS request and an unreachable server look the same from here; a request
        // that needs no CORS tells them apart (its answer is unreadable, but it arrives).
        if (await reachable()) {
          console.warn(`Frontdesk chat: the chat server does not answer this site (${location.origin}); is it among the channel's allowed sites? The chat stays hidden.`);
          return null;
        }
        await sleep(backoff(attempt)); // the server is unreachable: try again a little later
        continue;
      }
      if (answer.ok && str(answer.data.token)) return answer.data;
      if (answer.status === 401 && answer.code === "visitor_unknown" && token) {
        token = null; // forgotten by the server: this browser starts as a new visitor
        local.remove("token");
        continue;
      }
      if (answer.status === 401 && answer.code === "identity_invalid" && user) {
        console.warn("Frontdesk chat: the identity in window.FrontdeskChat.user is not valid (wrong hash?); chatting anonymously.");
        user = null;
        continue;
      }
      if (answer.status === 403) {
        console.warn(`Frontdesk chat: this site (${location.origin}) is not among the channel's allowed sites; the chat stays hidden.`);
        return null;
      }
      if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
        console.warn(`Frontdesk chat: the server refused to start the chat (${answer.status} ${answer.code}); the chat stays hidden.`);
        return null;
      }
      await sleep(backoff(attempt));
    }
    return null;
  };

  const applySession = (data) => {
    const sameVisitor = session && session.visitor === data.visitor;
    session = data;
    token = data.token;
    local.set("token", token);
    config = data.config && typeof data.config === "object" ? data.config : {};
    overrides = config.texts && typeof config.texts === "object" ? config.texts : {};
    if (!asked && primary(data.language)) lang = primary(data.language);
    if (data.availability) availability = data.availability;
    if (!sameVisitor) conversation = isId(data.conversation) ? data.conversation : null;
    return sameVisitor;
  };

  // The server forgot our token (4401, 401): a new session; a new visitor starts with an empty list.
  let renewing = false;
  let lastRenewal = 0;
  const renewSession = async () => {
    if (renewing) return;
    renewing = true;
    const tooSoon = Date.now() - lastRenewal < 60000;
    lastRenewal = Date.now();
    if (tooSoon) await sleep(backoff(4));
    const data = await startSession();
    renewing = false;
    if (!data) { shutDown(); return; }
    if (!applySession(data)) {
      for (const { row } of shown.values()) row.remove();
      shown.clear();
      order.length = 0;
      maxId = 0;
      readSent = 0;
      unread = 0;
    }
    refresh();
    if (ws) ws.close();
    else connect();
    if (polling) { clearTimeout(pollTimer); pollTimer = setTimeout(poll, 0); }
  };

  // --- The WebSocket and the polling fallback ---------------------------------------------------------
  let ws = null;
  let wsReady = false;      // welcome received on `ws`
  let wsFailures = 0;       // attempts in a row that never reached a welcome
  let attempts = 0;         // for the backoff
  let reconnectTimer = null;
  let lastHeard = 0;
  let polling = false;
  let pollTimer = null;
  let pollOk = false;       // the last poll reached the server
  let lastHeartbeat = 0;
  let stopped = false;
  let connection = "connecting"; // "online" | "offline" (shown only after the first failure)

  const wsUrl = () => {
    const given = str(session.ws_url);
    if (/^wss?:\/\//.test(given)) return given;
    return `${BASE.replace(/^http/, "ws")}/ws/chat/${PID}/`;
  };

  const setConnection = (state) => {
    if (connection === state) return;
    connection = state;
    refreshNotice();
  };

  const connect = () => {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (stopped || ws) return;
    let socket;
    try { socket = new WebSocket(wsUrl()); } catch { wsFailures++; scheduleReconnect(); return; }
    ws = socket;
    wsReady = false;
    lastHeard = Date.now(); // the silence clock starts now, also for an attempt that hangs
    socket.onopen = () => {
      if (ws !== socket) return;
      // The token goes in the first frame, never in the URL (URLs end up in logs).
      socket.send(JSON.stringify({ type: "hello", token, after: maxId, page: pageInfo() }));
    };
    socket.onmessage = (event) => {
      if (ws !== socket) return;
      lastHeard = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    socket.onclose = (event) => dropped(socket, event.code);
    socket.onerror = () => {}; // onclose follows and handles it
  };

  const scheduleReconnect = () => {
    if (stopped) return;
    if (wsFailures >= FAILURES_BEFORE_POLLING) startPolling();
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, polling ? WS_RETRY_WHILE_POLLING_MS : backoff(attempts++));
  };

  const dropped = (socket, code) => {
    if (socket !== ws) return;
    const wasReady = wsReady;
    ws = null;
    wsReady = false;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    showAgentTyping(null);
    if (stopped) return;
    if (code === CLOSE_ORIGIN || code === CLOSE_NO_CHANNEL) {
      console.warn(`Frontdesk chat: the server closed the chat (${code === CLOSE_ORIGIN ? "site not allowed" : "channel unknown or disabled"}).`);
      shutDown();
      return;
    }
    if (code === CLOSE_BAD_HELLO) { renewSession(); return; }
    if (!wasReady) wsFailures++;
    if (!(polling && pollOk)) setConnection("offline");
    scheduleReconnect();
  };

  const reconnectNow = () => {
    if (stopped || ws || !session) return;
    attempts = 0;
    connect();
  };

  const sendFrame = (frame) => {
    if (!ws || !wsReady || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  };

  const onFrame = (frame) => {
    switch (frame.type) {
      case "welcome":
        wsReady = true;
        wsFailures = 0;
        attempts = 0;
        stopPolling();
        if (frame.availability && typeof frame.availability === "object") availability = frame.availability;
        setConnection("online");
        typingSent = false;
        socketSerial++;
        flush(); // unacknowledged messages again, with the same client_id
        markRead();
        refresh();
        break;
      case "message": addMessage(frame.message); break;
      case "ack": acknowledged(str(frame.client_id), frame.message); break;
      case "typing": showAgentTyping(frame); break;
      case "read": shopRead(frame.up_to); break;
      case "error": {
        const item = pending.find((p) => p.client_id === frame.client_id);
        const error = (frame.error && typeof frame.error === "object" && frame.error) || {};
        if (!item) break;
        if (error.code === "rate_limited") {
          const wait = Math.min(60, Math.max(1, Number(frame.retry_after) || 5)) * 1000;
          sentOn.delete(item.client_id);
          setTimeout(flush, wait + Math.random() * 1000);
        }
        else refused(item.client_id, str(error.message) || t("failed"));
        break;
      }
      default: break; // pong, and frames of later versions
    }
  };

  // Polling: the WebSocket could not be opened three times in a row (a proxy, a firewall).
  const startPolling = () => {
    if (polling) return;
    polling = true;
    pollOk = false;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, 0);
  };
  const stopPolling = () => {
    polling = false;
    clearTimeout(pollTimer);
  };
  const poll = async () => {
    if (!polling || stopped) return;
    let answer = null;
    try { answer = await api("GET", `/messages?after=${maxId}`); } catch { answer = null; }
    if (!polling || stopped) return;
    if (answer && answer.ok) {
      const messages = Array.isArray(answer.data.messages) ? answer.data.messages : [];
      messages.slice().sort((a, b) => (a && b ? a.id - b.id : 0)).forEach(addMessage);
      showAgentTyping(answer.data.typing);
      shopRead(answer.data.read_up_to);
      const wasDown = !pollOk;
      pollOk = true;
      setConnection("online");
      flush();
      markRead();
      if (Date.now() - lastHeartbeat > HEARTBEAT_MS) {
        lastHeartbeat = Date.now();
        api("POST", "/page", pageInfo()).catch(() => {});
      }
      // The whole server was unreachable, not just its WebSocket: now that it answers, the
      // socket deserves a try before the minute is up.
      if (wasDown && !ws) { clearTimeout(reconnectTimer); connect(); }
    } else if (answer && answer.status === 401) {
      renewSession();
      return;
    } else {
      pollOk = false;
      setConnection("offline");
    }
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, isOpen ? POLL_OPEN_MS : POLL_CLOSED_MS);
  };

  const shutDown = () => {
    stopped = true;
    stopPolling();
    clearTimeout(reconnectTimer);
    if (ws) { const socket = ws; ws = null; socket.onclose = null; socket.close(); }
    if (ui) ui.host.remove();
    ui = null;
  };

  // Keep-alive and dead-socket detection; single-page shops change URLs without telling anyone.
  let lastPage = location.href;
  const checkPage = () => {
    if (!session || location.href === lastPage) return;
    lastPage = location.href;
    if (!sendFrame({ type: "page", ...pageInfo() }) && polling) api("POST", "/page", pageInfo()).catch(() => {});
    scheduleInvitations();
  };
  setInterval(() => {
    if (!ws) return;
    if (Date.now() - lastHeard > SILENCE_MS) {
      const socket = ws;
      try { socket.close(); } catch { /* already closing */ }
      dropped(socket, 1006);
      return;
    }
    sendFrame({ type: "ping" });
  }, PING_MS);
  setInterval(checkPage, URL_CHECK_MS);
  window.addEventListener("popstate", checkPage);
  window.addEventListener("hashchange", checkPage);
  window.addEventListener("online", reconnectNow);
  window.addEventListener("pagehide", (event) => {
    if (!event.persisted || !ws) return; // a real unload closes the socket by itself
    const socket = ws;
    dropped(socket, 1000);
    socket.close(1000);
  });
  window.addEventListener("pageshow", (event) => { if (event.persisted) reconnectNow(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") markRead(); });

  // --- Messages ----------------------------------------------------------------------------------------
  const newestFirstRow = (id) => {
    // Binary search for the first shown id greater than `id`: its row is where `id` goes before.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (order[mid] < id) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const authorKey = (m) => (m.from === "visitor" ? "visitor" : `${m.from}:${str(m.author && m.author.name)}`);
  const refreshHead = (index) => {
    const id = order[index];
    if (id === undefined) return;
    const entry = shown.get(id);
    const previous = index > 0 ? shown.get(order[index - 1]) : null;
    entry.row.classList.toggle("head", !previous || authorKey(previous.message) !== authorKey(entry.message));
  };

  const timeLabel = (at) => {
    const date = new Date(at);
    if (Number.isNaN(date.getTime())) return null;
    try {
      return h("time", {
        datetime: date.toISOString(),
        title: new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(date),
      }, new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(date));
    } catch { return null; }
  };

  const attachmentNodes = (attachments) => (Array.isArray(attachments) ? attachments : []).map((a) => {
    if (!a || typeof a !== "object") return null;
    const name = str(a.name) || "file";
    const size = Number.isFinite(a.size) && a.size >= 0 ? ` (${fileSize(a.size)})` : "";
    const url = serverUrl(a.url);
    if (!url) return h("span", { class: "file" }, name + size);
    const link = h("a", { class: "file", href: url, target: "_blank", rel: "noopener noreferrer nofollow" });
    if (/^image\//i.test(str(a.type))) {
      const img = h("img", { src: url, alt: name, loading: "lazy", referrerpolicy: "no-referrer" });
      img.addEventListener("load", () => stickToEnd(), { once: true });
      link.append(img);
    } else {
      link.append(name + size);
    }
    return link;
  });

  const messageRow = (message) => {
    if (message.from === "system") return h("div", { class: "row system", "data-id": message.id }, str(message.text));
    const visitorSide = message.from === "visitor";
    const name = visitorSide ? t("you") : str(message.author && message.author.name) || str(config.title) || t("title");
    const text = str(message.text);
    const bubble = h("div", { class: "bubble" }, h("span", { class: "vh" }, `${name}: `), text ? richText(text) : null,
      attachmentNodes(message.attachments));
    const meta = h("div", { class: "meta" }, timeLabel(message.at));
    const stack = h("div", { class: "stack" }, visitorSide ? null : h("div", { class: "author", "aria-hidden": "true" }, name), bubble, meta);
    return h("div", { class: `row ${visitorSide ? "visitor" : "shop"}`, "data-id": message.id }, visitorSide ? null : avatar(message.author), stack);
  };

  const addMessage = (message) => {
    if (!message || typeof message !== "object" || !isId(message.id) || shown.has(message.id)) return;
    if (str(message.client_id)) forgetPending(message.client_id);
    const row = messageRow(message);
    const index = newestFirstRow(message.id);
    const before = index < order.length ? shown.get(order[index]).row : ui.log.querySelector(".pending");
    ui.log.insertBefore(row, before);
    order.splice(index, 0, message.id);
    shown.set(message.id, { message, row });
    refreshHead(index);
    refreshHead(index + 1);
    if (message.id > maxId) {
      maxId = message.id;
      if (isId(message.conversation)) conversation = message.conversation;
    }
    if (fromShop(message)) {
      showAgentTyping(null); // her message is what she was typing
      if (!message.read && message.id > readSent) {
        if (isOpen && document.visibilityState === "visible") markRead();
        else if (!isOpen) { unread++; teaseMessage(message); }
      }
    }
    refreshReadLabel();
    refresh();
    stickToEnd(message.from === "visitor");
  };

  const renderPending = (item) => {
    const bubble = h("div", { class: "bubble" }, h("span", { class: "vh" }, `${t("you")}: `), richText(item.text));
    if (item.file) bubble.append(h("span", { class: "file" }, `${item.file.name} (${fileSize(item.file.size)})`));
    const row = h("div", { class: "row visitor pending head" },
      h("div", { class: "stack" }, bubble, h("div", { class: "meta" }, t("sending"))));
    pendingRows.set(item.client_id, row);
    ui.log.append(row);
    stickToEnd(true);
  };

  const forgetPending = (clientId) => {
    const row = pendingRows.get(clientId);
    if (row) { row.remove(); pendingRows.delete(clientId); }
    const before = pending.length;
    pending = pending.filter((p) => p.client_id !== clientId);
    settled.add(clientId);
    if (pending.length !== before) savePending();
  };

  const acknowledged = (clientId, message) => {
    if (clientId) forgetPending(clientId);
    addMessage(message);
  };

  // The server will never take this one (too long, invalid): say so under the bubble, stop trying.
  const refused = (clientId, reason) => {
    const row = pendingRows.get(clientId);
    forgetPending(clientId);
    if (!row) return;
    row.classList.remove("pending");
    row.classList.add("failed");
    row.querySelector(".meta").textContent = t("not_sent", { reason });
    ui.log.append(row);
  };

  // Pending messages go out in the order they were written: by the socket, one frame each (the
  // server handles a socket's frames in order); by HTTP one request at a time when polling, or for
  // a message too big for a frame, and then the later ones wait for it.
  const sentOn = new Map(); // client_id → the socket (its welcome's serial) it was sent on
  let socketSerial = 0;
  let posting = false;
  const bodyOf = (item) => {
    const body = { client_id: item.client_id, text: item.text };
    const target = item.conversation || conversation;
    if (target) body.conversation = target;
    if (item.invitation) body.invitation = item.invitation;
    return body;
  };
  const flush = () => {
    for (const item of pending) {
      if (wsReady && sentOn.get(item.client_id) === socketSerial) continue; // awaiting its ack
      if (!wsReady && !polling) return; // all of them again after the next welcome
      if (posting) return;
      const body = bodyOf(item);
      const frame = JSON.stringify({ type: "message", ...body });
      if (wsReady && frame.length <= FRAME_MAX_CHARS) {
        ws.send(frame);
        sentOn.set(item.client_id, socketSerial);
        continue;
      }
      post(item, body);
      return;
    }
  };
  const post = async (item, body) => {
    posting = true;
    let next = false;
    try {
      const answer = await api("POST", "/messages", body);
      if (answer.ok && answer.data.message) { acknowledged(item.client_id, answer.data.message); next = true; }
      else if (answer.status === 401) renewSession();
      else if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
        refused(item.client_id, answer.message || t("failed"));
        next = true;
      } // 429, 5xx: still pending, sent again with the next poll or welcome
    } catch { /* unreachable: the next poll or welcome sends it again */ }
    posting = false;
    if (next) flush();
  };

  const queueMessage = (text) => {
    const item = { client_id: newClientId(), text };
    if (conversation) item.conversation = conversation;
    if (acceptedInvitation) {
      item.invitation = acceptedInvitation.id;
      acceptedInvitation = null;
      visit.remove("invitation");
    }
    pending.push(item);
    savePending();
    renderPending(item);
    flush();
    refresh();
  };

  // --- Files ---------------------------------------------------------------------------------------------
  const typeAllowed = (file) => {
    const types = Array.isArray(config.upload_types) ? config.upload_types : [];
    const type = str(file.type).toLowerCase();
    const name = file.name.toLowerCase();
    return types.some((pattern) => {
      const p = str(pattern).toLowerCase();
      if (p.startsWith(".")) return name.endsWith(p);
      if (p.endsWith("/*")) return type.startsWith(p.slice(0, -1));
      return p === type;
    });
  };

  const sendFile = async (file) => {
    const max = Number(config.max_upload_bytes) || 0;
    if (max && file.size > max) { showAlert(t("file_too_big", { size: fileSize(max) })); return; }
    if (!typeAllowed(file)) { showAlert(t("file_type")); return; }
    showAlert("");
    const item = { client_id: newClientId(), text: "", file: { name: file.name, size: file.size } }; // not in `pending`
    renderPending(item);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("client_id", item.client_id);
    if (conversation) form.append("conversation", String(conversation));
    if (acceptedInvitation) { form.append("invitation", acceptedInvitation.id); acceptedInvitation = null; visit.remove("invitation"); }
    // The same client_id on every attempt: the server keeps the file once.
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const answer = await api("POST", "/files", form);
        if (answer.ok && answer.data.message) { acknowledged(item.client_id, answer.data.message); return; }
        if (answer.status === 401) { renewSession(); break; }
        if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
          refused(item.client_id, answer.message || t("failed"));
          showAlert(answer.message || t("failed"));
          return;
        }
      } catch { /* unreachable: try again */ }
      await sleep(backoff(attempt + 1));
    }
    refused(item.client_id, t("failed"));
  };

  // --- Typing, both ways --------------------------------------------------------------------------------
  let typingSent = false;
  let typingTimer = null;
  const setTyping = (state) => {
    clearTimeout(typingTimer);
    if (state) typingTimer = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
    if (typingSent === state) return;
    typingSent = state;
    const frame = conversation ? { state, conversation } : { state };
    if (!sendFrame({ type: "typing", ...frame }) && polling) api("POST", "/typing", frame).catch(() => {});
  };

  let agentTypingTimer = null;
  const showAgentTyping = (frame) => {
    if (!ui) return;
    clearTimeout(agentTypingTimer);
    const on = !!frame && typeof frame === "object" && frame.state !== false;
    ui.typing.hidden = !on;
    if (!on) { ui.typing.textContent = ""; return; }
    const name = str(frame.name);
    ui.typing.textContent = name ? t("typing", { name }) : t("typing_someone");
    agentTypingTimer = setTimeout(() => showAgentTyping(null), AGENT_TYPING_MAX_MS);
    stickToEnd(false);
  };

  // --- Read receipts, both ways -------------------------------------------------------------------------
  const markRead = () => {
    if (!ui || !isOpen || document.visibilityState !== "visible") return;
    unread = 0;
    refreshLauncher();
    let upTo = 0;
    for (const { message } of shown.values()) if (fromShop(message) && !message.read && message.id > upTo) upTo = message.id;
    if (upTo <= readSent) return;
    const sent = sendFrame({ type: "read", up_to: upTo });
    if (!sent && !polling) return; // told after the next welcome
    if (!sent) api("POST", "/read", { up_to: upTo }).catch(() => {});
    readSent = upTo;
    for (const { message } of shown.values()) if (fromShop(message) && message.id <= upTo) message.read = true;
  };

  const shopRead = (upTo) => {
    if (!isId(upTo)) return;
    for (const { message } of shown.values()) if (message.from === "visitor" && message.id <= upTo) message.read = true;
    refreshReadLabel();
  };

  // "Read" under the visitor's latest message an agent has read.
  const refreshReadLabel = () => {
    if (!ui) return;
    let latest = null;
    for (const { message, row } of shown.values()) {
      if (message.from === "visitor" && message.read && (!latest || message.id > latest.id)) latest = { id: message.id, row };
    }
    const meta = latest && latest.row.querySelector(".meta");
    if (meta && ui.readLabel.parentNode !== meta) meta.append(ui.readLabel);
    else if (!meta) ui.readLabel.remove();
  };

  // --- The teaser beside the launcher: an invitation or an agent's message while the panel is closed ---
  let teaser = null; // {kind: "invitation"|"message", invitation?, id?}

  const showTeaser = (current, name, text) => {
    teaser = current;
    ui.teaserName.textContent = name;
    ui.teaserText.textContent = text;
    ui.teaser.hidden = false;
  };
  const hideTeaser = () => { teaser = null; if (ui) ui.teaser.hidden = true; };

  const teaseMessage = (message) => {
    if (visit.get("teased", 0) >= message.id) return; // dismissed on this visit already
    const text = str(message.text) || (Array.isArray(message.attachments) && message.attachments[0] ? str(message.attachments[0].name) : "");
    showTeaser({ kind: "message", id: message.id }, str(message.author && message.author.name) || str(config.title), text);
  };

  const dismissTeaser = () => {
    if (teaser && teaser.kind === "message") visit.set("teased", maxId);
    hideTeaser();
    ui.launcher.focus();
  };

  const acceptTeaser = () => {
    if (teaser && teaser.kind === "invitation") {
      acceptedInvitation = { id: teaser.invitation.id, text: teaser.invitation.text };
      visit.set("invitation", acceptedInvitation);
    }
    hideTeaser();
    openPanel(true);
  };

  // --- Proactive invitations, evaluated here in the browser --------------------------------------------
  const shownInvitations = new Set(visit.get("invited", []) || []);
  let invitationTimers = [];
  let exitIntent = [];
  const glob = (pattern, value) => {
    const source = str(pattern || "*").split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
    try { return new RegExp(`^${source}$`, "i").test(value); } catch { return false; }
  };
  const desktop = () => window.matchMedia && window.matchMedia("(hover: hover) and (pointer: fine)").matches;

  const offerInvitation = (invitation) => {
    if (!ui || !availability.online || isOpen || shownInvitations.has(invitation.id) || teaser) return;
    if (!glob(invitation.url_pattern, location.href)) return; // the page changed meanwhile
    shownInvitations.add(invitation.id);
    visit.set("invited", [...shownInvitations]);
    showTeaser({ kind: "invitation", invitation }, str(config.title) || t("title"), invitation.text);
  };

  const scheduleInvitations = () => {
    invitationTimers.forEach(clearTimeout);
    invitationTimers = [];
    exitIntent = [];
    const list = Array.isArray(config.invitations) ? config.invitations : [];
    // Time on this page: since it loaded, or since a single-page shop changed its URL.
    const elapsed = scheduledOnce ? 0 : performance.now();
    scheduledOnce = true;
    for (const invitation of list) {
      if (!invitation || typeof invitation !== "object" || !str(invitation.id) || !str(invitation.text)) continue;
      if (shownInvitations.has(invitation.id) || !glob(invitation.url_pattern, location.href)) continue;
      const delay = Math.max(0, (Number(invitation.seconds) || 0) * 1000 - elapsed);
      const later = () => invitationTimers.push(setTimeout(() => offerInvitation(invitation), delay));
      if (invitation.trigger === "time_on_page" || invitation.trigger === "cart") later();
      else if (invitation.trigger === "visit" && (Number(session.visit) || 1) >= (Number(invitation.visit) || 0)) later();
      else if (invitation.trigger === "exit_intent" && desktop()) exitIntent.push(invitation); // no such gesture on touch
    }
  };
  let scheduledOnce = false;
  document.addEventListener("mouseout", (event) => {
    // Leaving through the top edge: towards the tab bar or the address bar.
    if (event.relatedTarget || event.clientY > 0 || !exitIntent.length) return;
    offerInvitation(exitIntent.shift());
  });

  // --- Contact forms: before the first message, and how to answer when nobody is available ---------------
  const field = (name, label, attrs) => {
    const id = `fd-${name}`;
    const input = h("input", { id, name, "aria-describedby": `${id}-error`, ...attrs });
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    return { wrap: h("div", { class: "field" }, h("label", { for: id }, label), input, error), input, error };
  };
  const setFieldError = (f, message) => {
    f.error.textContent = message;
    f.error.hidden = !message;
    if (message) f.input.setAttribute("aria-invalid", "true");
    else f.input.removeAttribute("aria-invalid");
  };
  const errorText = (value) => (Array.isArray(value) ? value : [value])
    .map((v) => (typeof v === "string" ? v : str(v && v.message))).filter(Boolean).join(" ");

  // POST /contact; the server's field errors go next to the fields. Resolves to its answer or null.
  const submitContact = async (form, fields, body) => {
    Object.values(fields).forEach((f) => setFieldError(f, ""));
    form.error.hidden = true;
    if (form.submit) form.submit.disabled = true;
    let answer = null;
    try { answer = await api("POST", "/contact", body); } catch { answer = null; }
    if (form.submit) form.submit.disabled = false;
    if (answer && answer.ok) return answer.data;
    let first = null;
    for (const [name, value] of Object.entries((answer && answer.fields) || {})) {
      const f = fields[name];
      if (!f) continue;
      setFieldError(f, errorText(value));
      first = first || f;
    }
    if (!first) { form.error.textContent = (answer && answer.message) || t("failed"); form.error.hidden = false; }
    else first.input.focus();
    return null;
  };

  const contactKnown = () => {
    const contact = (session && session.contact) || {};
    return !!(session && session.identified) || !!(str(contact.name) || str(contact.email) || str(contact.phone));
  };

  // The pre-chat form: only before the first message, for a visitor the shop does not know yet.
  let prechat = null;
  const prechatFields = () => {
    const asks = config.prechat && typeof config.prechat === "object" ? config.prechat : {};
    if (contactKnown() || conversation || shown.size || pending.length || pendingRows.size) return [];
    return ["name", "email", "phone"].filter((name) => asks[name] === "optional" || asks[name] === "required");
  };
  const buildPrechat = (names) => {
    const asks = config.prechat;
    const types = { name: ["text", "name"], email: ["email", "email"], phone: ["tel", "tel"] };
    const fields = {};
    for (const name of names) {
      const required = asks[name] === "required";
      fields[name] = field(name, required ? t(name) : `${t(name)} (${t("optional")})`,
        { type: types[name][0], autocomplete: types[name][1], required, maxlength: name === "phone" ? 32 : 200 });
    }
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    // No button of its own: the details go with the first message (the composer's Send).
    const el = h("form", { class: "card prechat", novalidate: true }, h("p", {}, t("prechat")),
      Object.values(fields).map((f) => f.wrap), error);
    el.addEventListener("submit", (event) => event.preventDefault());
    el.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault(); // Enter in a field: on to the message, or send it when written
      if (ui.input.value.trim()) sendFromComposer();
      else ui.input.focus();
    });
    return { el, fields, error, submit: null };
  };
  // Resolves true when the message may go: the details are stored (or there were none to store).
  const submitPrechat = async () => {
    const body = {};
    let missing = null;
    for (const [name, f] of Object.entries(prechat.fields)) {
      const value = f.input.value.trim();
      setFieldError(f, "");
      if (value) body[name] = value;
      else if (config.prechat[name] === "required") { setFieldError(f, t("required")); missing = missing || f; }
    }
    if (missing) { missing.input.focus(); return false; }
    if (!Object.keys(body).length) return true;
    const answer = await submitContact(prechat, prechat.fields, body);
    if (!answer) return false;
    if (session) session.contact = { ...session.contact, ...(answer.contact || body) };
    return true;
  };

  // The hand-over: nobody is online and the visitor waits for an answer; ask how to give it.
  const handedOver = () => local.get("handover", {}) || {};
  let handover = null;
  const handoverWanted = () => {
    const options = Array.isArray(config.reply_options) ? config.reply_options.filter((o) => TEXTS.en[`via_${o}`]) : [];
    if (availability.online || !options.length || !conversation || handedOver()[conversation]) return null;
    const last = order.length ? shown.get(order[order.length - 1]).message : null;
    return last && last.from === "visitor" ? options : null;
  };
  const buildHandover = (options) => {
    const contact = (session && session.contact) || {};
    const fields = {
      email: field("email-answer", t("email"), { type: "email", autocomplete: "email", value: str(contact.email) }),
      phone: field("phone-answer", t("phone"), { type: "tel", autocomplete: "tel", value: str(contact.phone) }),
      call_window: field("call-window", t("call_window"), { type: "text", maxlength: 100 }),
    };
    const choices = options.map((option, i) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "reply_via", value: option, checked: i === 0 }), t(`via_${option}`)));
    const reply = { wrap: null, input: choices[0].firstChild, error: h("p", { class: "field-error", hidden: true }) };
    fields.reply_via = reply;
    const chosen = () => (choices.map((c) => c.firstChild).find((r) => r.checked) || choices[0].firstChild).value;
    const showFields = () => {
      const via = chosen();
      fields.email.wrap.hidden = via !== "email";
      fields.phone.wrap.hidden = via !== "sms" && via !== "call";
      fields.call_window.wrap.hidden = via !== "call";
    };
    const submit = h("button", { type: "submit", class: "primary" }, t("submit"));
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const el = h("form", { class: "card handover", novalidate: true },
      h("fieldset", { onchange: showFields }, h("legend", {}, t("reply_question")), choices, reply.error),
      fields.email.wrap, fields.phone.wrap, fields.call_window.wrap, error, submit);
    const form = { el, fields, error, submit };
    el.addEventListener("submit", async (event) => {
      event.preventDefault();
      const via = chosen();
      const body = { reply_via: via, conversation };
      const needed = via === "email" ? fields.email : via === "sms" || via === "call" ? fields.phone : null;
      if (needed) {
        const value = needed.input.value.trim();
        if (!value) { setFieldError(needed, t("required")); needed.input.focus(); return; }
        body[via === "email" ? "email" : "phone"] = value;
      }
      if (via === "call" && fields.call_window.input.value.trim()) body.call_window = fields.call_window.input.value.trim();
      const answer = await submitContact(form, fields, body);
      if (!answer) return;
      const given = (answer.contact && typeof answer.contact === "object") ? answer.contact : {};
      // What the server applied: an address that belongs to someone else keeps the answer in the chat.
      const applied = typeof answer.reply_via === "string" && answer.reply_via ? answer.reply_via : via;
      const record = { via: applied, email: str(given.email) || body.email || "", phone: str(given.phone) || body.phone || "", window: body.call_window || "" };
      if (session) session.contact = { ...session.contact, ...given };
      const all = handedOver();
      all[conversation] = record;
      local.set("handover", Object.fromEntries(Object.entries(all).slice(-20)));
      handover.el.remove();
      handover = null;
      ui.confirm.textContent = confirmation(record);
      ui.confirm.hidden = false;
      ui.input.focus();
    });
    showFields();
    return form;
  };
  const confirmation = (r) => {
    if (r.via === "email") return t("confirm_email", { email: r.email });
    if (r.via === "sms") return t("confirm_sms", { phone: r.phone });
    if (r.via === "call") return r.window ? t("confirm_call_window", { phone: r.phone, window: r.window }) : t("confirm_call", { phone: r.phone });
    return t("confirm_chat");
  };

  // --- The panel -------------------------------------------------------------------------------------------
  let alertTimer = null;
  const showAlert = (text) => {
    clearTimeout(alertTimer);
    ui.alert.textContent = text;
    ui.alert.hidden = !text;
    if (text) alertTimer = setTimeout(() => { ui.alert.hidden = true; }, 15000);
  };

  const nearEnd = () => ui.scroll.scrollHeight - ui.scroll.scrollTop - ui.scroll.clientHeight < 80;
  let wasNearEnd = true;
  const stickToEnd = (force) => {
    if (!ui || !isOpen) return;
    if (force || wasNearEnd) ui.scroll.scrollTop = ui.scroll.scrollHeight;
  };

  const refreshLauncher = () => {
    // The visible launcher text, when the shop set one, is the start of the name (voice control).
    const name = str(config.launcher_text) || t("open");
    const label = unread ? `${name}, ${tn("unread", unread)}` : name;
    ui.launcher.setAttribute("aria-label", isOpen ? t("close") : label);
    ui.launcher.setAttribute("aria-expanded", String(isOpen));
    ui.badge.textContent = unread > 99 ? "99+" : String(unread);
    ui.badge.hidden = !unread || isOpen;
  };

  const refreshNotice = () => {
    if (!ui) return;
    let text = "";
    let warn = false;
    const visitorWrote = pending.length || [...shown.values()].some(({ message }) => message.from === "visitor");
    if (connection === "offline") { text = t("reconnecting"); warn = true; }
    else if (availability.online === false) {
      text = t("offline");
      if (!visitorWrote && Array.isArray(config.reply_options) && config.reply_options.length) text += ` ${t("offline_leave")}`;
    } else if (!shown.size && !pending.length && Number.isFinite(availability.wait_minutes)) {
      text = tn("wait", Math.max(1, Math.round(availability.wait_minutes)));
    }
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
    ui.notice.classList.toggle("warn", warn);
  };

  // Everything that depends on the state and not on one message.
  const refresh = () => {
    if (!ui) return;
    refreshNotice();
    refreshLauncher();
    // The shop's first bubble: the invitation the visitor accepted, or the greeting.
    const intro = (acceptedInvitation && acceptedInvitation.text) || introText || str(config.greeting);
    if (acceptedInvitation) introText = acceptedInvitation.text;
    // The server keeps an answered invitation as the conversation's first message: shown once.
    const stored = [...shown.values()].some(({ message }) => fromShop(message) && str(message.text) === intro);
    ui.intro.hidden = !intro || stored;
    ui.introText.textContent = intro;
    const names = prechatFields();
    if (names.length && !prechat) { prechat = buildPrechat(names); ui.log.after(prechat.el); }
    else if (!names.length && prechat) { prechat.el.remove(); prechat = null; }
    const options = handoverWanted();
    if (options && !handover) { handover = buildHandover(options); ui.scroll.append(handover.el); stickToEnd(true); }
    else if (!options && handover) { handover.el.remove(); handover = null; }
    if (!options && conversation && handedOver()[conversation] && !availability.online) {
      ui.confirm.textContent = confirmation(handedOver()[conversation]);
      ui.confirm.hidden = false;
    }
  };
  let introText = "";

  const openPanel = (focus) => {
    if (!ui) return;
    hideTeaser();
    isOpen = true;
    visit.set("open", true);
    ui.root.classList.add("open");
    ui.panel.hidden = false;
    refresh();
    stickToEnd(true);
    if (focus) {
      const first = prechat && Object.values(prechat.fields).find((f) => !f.input.value);
      (first ? first.input : ui.input).focus();
    }
    markRead();
    if (polling) { clearTimeout(pollTimer); pollTimer = setTimeout(poll, 0); }
  };

  const closePanel = (focusLauncher) => {
    if (!ui || !isOpen) return;
    isOpen = false;
    visit.remove("open");
    ui.root.classList.remove("open");
    ui.panel.hidden = true;
    setTyping(false);
    refresh();
    if (focusLauncher) ui.launcher.focus();
  };

  let sending = false;
  const sendFromComposer = async () => {
    const text = ui.input.value.trim();
    if (!text || sending) return;
    if (prechat) {
      sending = true;
      const ok = await submitPrechat();
      sending = false;
      if (!ok) return;
      prechat.el.remove();
      prechat = null;
    }
    ui.input.value = "";
    autosize();
    setTyping(false);
    queueMessage(text);
    ui.input.focus();
  };

  const autosize = () => {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(140, Math.max(42, ui.input.scrollHeight + 2))}px`;
  };

  const build = () => {
    const { color, on, ink } = colours(config.color);
    const title = str(config.title) || t("title");
    const launcherText = str(config.launcher_text);
    const host = document.createElement("frontdesk-chat");
    // An open shadow root: same isolation from the shop's CSS, and tools and tests can look inside.
    const shadow = host.attachShadow({ mode: "open" });
    const root = h("div", { class: `fd ${config.position === "left" ? "left" : "right"}`, lang });
    root.style.setProperty("--fd-color", color);
    root.style.setProperty("--fd-on", on);
    root.style.setProperty("--fd-ink", ink);

    const badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    const launcher = h("button", { type: "button", class: "launcher", "aria-controls": "fd-panel", "aria-expanded": "false" },
      icon("chat"), h("span", { class: "launcher-text" }, launcherText), badge);
    launcher.addEventListener("click", () => (isOpen ? closePanel(true) : openPanel(true)));

    const teaserName = h("span", { class: "teaser-name" });
    const teaserText = h("span", { class: "teaser-text" });
    const teaserEl = h("div", { class: "teaser", hidden: true },
      h("button", { type: "button", class: "teaser-open", onclick: acceptTeaser }, teaserName, teaserText),
      h("button", { type: "button", class: "icon", "aria-label": t("dismiss"), onclick: dismissTeaser }, icon("close")));
    teaserEl.addEventListener("keydown", (event) => { if (event.key === "Escape") dismissTeaser(); });

    const introText_ = h("div", { class: "bubble" });
    const intro = h("div", { class: "row shop head intro", hidden: true },
      avatar({ name: title, avatar: null }),
      h("div", { class: "stack" }, h("div", { class: "author" }, title), introText_));
    const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("messages") });
    const typing = h("div", { class: "typing", hidden: true });
    const confirm = h("p", { class: "confirm", role: "status", hidden: true });
    const scroll = h("div", { class: "scroll" }, intro, log, typing, confirm);
    scroll.addEventListener("scroll", () => { wasNearEnd = nearEnd(); }, { passive: true });

    const input = h("textarea", { id: "fd-input", rows: 1, placeholder: t("placeholder"), maxlength: 20000 });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendFromComposer(); }
    });
    input.addEventListener("input", () => { autosize(); setTyping(!!input.value.trim()); });
    input.addEventListener("blur", () => setTyping(false));

    const uploads = Array.isArray(config.upload_types) && config.upload_types.length && Number(config.max_upload_bytes) > 0;
    const file = h("input", { type: "file", hidden: true, tabindex: "-1", "aria-label": t("attach"),
      accept: uploads ? config.upload_types.join(",") : null });
    file.addEventListener("change", () => {
      const chosen = [...file.files];
      file.value = "";
      chosen.forEach(sendFile);
    });
    const attach = uploads ? h("button", { type: "button", class: "icon attach", "aria-label": t("attach"), title: t("attach"),
      onclick: () => file.click() }, icon("attach")) : null;
    const composer = h("form", { class: "composer" },
      h("label", { class: "vh", for: "fd-input" }, t("message")), attach, file, input,
      h("button", { type: "submit", class: "icon send", "aria-label": t("send"), title: t("send") }, icon("send")));
    composer.addEventListener("submit", (event) => { event.preventDefault(); sendFromComposer(); });

    const notice = h("p", { class: "notice", role: "status", hidden: true });
    const alert = h("p", { class: "alert", role: "alert", hidden: true });
    const panel = h("div", { class: "panel", id: "fd-panel", role: "dialog", "aria-label": title, hidden: true },
      h("div", { class: "header" }, h("h2", {}, title),
        h("button", { type: "button", class: "icon", "aria-label": t("close"), title: t("close"), onclick: () => closePanel(true) }, icon("close"))),
      notice, scroll, alert, composer);
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.stopPropagation(); closePanel(true); }
    });

    root.append(teaserEl, panel, launcher);
    shadow.append(h("style", {}, CSS), root);
    ui = {
      host, root, launcher, badge, panel, notice, alert, scroll, intro, introText: introText_, log, typing, confirm, input,
      teaser: teaserEl, teaserName, teaserText, readLabel: h("span", { class: "read" }, ` · ${t("read")}`),
    };
    document.body.append(host);
  };

  // --- Start ---------------------------------------------------------------------------------------------
  const boot = async () => {
    const data = await startSession();
    if (!data) return;
    applySession(data);
    build();
    pending.forEach(renderPending);
    refresh();
    if (requested === "open" || (requested !== "close" && visit.get("open", false))) openPanel(requested === "open");
    scheduleInvitations();
    connect();
  };
  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot, { once: true });
})();
