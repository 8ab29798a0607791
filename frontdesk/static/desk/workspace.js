// The agent workspace in the browser: keyboard shortcuts, live refresh of the inbox and the
// conversation from desk/realtime.js events, collision warnings, @mention autocomplete, and small
// conveniences (auto-submitting selects, file names, menus). Every page also works without it.
(function () {
  "use strict";

  const body = document.body;
  body.classList.add("js-workspace");
  const page = body.dataset.page || "";
  const conversationNumber = body.dataset.conversation ? Number(body.dataset.conversation) : null;
  // A live chat's page: the visitor's typing, read receipts, whether they are still on the site.
  const isChat = body.dataset.chat === "true";
  const myMember = body.dataset.member ? Number(body.dataset.member) : null;
  const inboxUrl = body.dataset.inboxUrl || (body.dataset.tenant ? `/t/${body.dataset.tenant}/` : "/");

  // Translated strings from the page (templates/desk/inbox/_js_strings.html); English as fallback.
  const STRINGS = {
    viewing_one: "{names} is viewing", viewing_many: "{names} are viewing",
    replying_one: "{names} is replying…", replying_many: "{names} are replying…",
    new_message: "New message in this conversation", updated: "Conversation updated",
    typing: "{name} is typing…",
  };
  try {
    Object.assign(STRINGS, JSON.parse((document.getElementById("workspace-strings") || {}).textContent || "{}"));
  } catch (error) { /* keep the fallback */ }
  const t = (key) => STRINGS[key] || key;

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  function isTyping(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function announce(text) {
    const live = $("#live-status");
    if (live) { live.textContent = ""; setTimeout(() => { live.textContent = text; }, 50); }
  }

  // ---------------------------------------------------------------- regions swapped from the server

  // Regions the agent is using (focus inside, a menu open) are not swapped under their hands:
  // they are refreshed as soon as the agent leaves them.
  const deferred = new Map();

  function busy(element) {
    const active = document.activeElement;
    return (active && active !== body && element.contains(active) && isTyping(active)) ||
      element.querySelector("details[open]") !== null;
  }

  // Update a list in place, child by child (by id): unchanged children stay untouched, so the
  // frames of formatted messages are not reloaded each time something else in the thread changes.
  // A child with data-version is unchanged while its version is (messages change only in delivery).
  function mergeList(current, fresh) {
    for (const attr of Array.from(fresh.attributes)) current.setAttribute(attr.name, attr.value);
    const old = new Map(Array.from(current.children).filter((c) => c.id).map((c) => [c.id, c]));
    let cursor = current.firstElementChild;
    for (const node of Array.from(fresh.children)) {
      const match = node.id ? old.get(node.id) : null;
      const same = match && (node.dataset.version !== undefined
        ? match.dataset.version === node.dataset.version
        : match.isEqualNode(node));
      if (same) {
        old.delete(node.id);
        if (match === cursor) cursor = cursor.nextElementSibling;
        else current.insertBefore(match, cursor);
      } else {
        if (match) { old.delete(node.id); if (match === cursor) cursor = cursor.nextElementSibling; match.remove(); }
        current.insertBefore(node, cursor);
        if (window.htmx) window.htmx.process(node);
      }
    }
    while (cursor) { const next = cursor.nextElementSibling; cursor.remove(); cursor = next; }
  }

  function swapRegion(fresh, { force = false } = {}) {
    const current = document.getElementById(fresh.id);
    if (!current) return false;
    if (!force && busy(current)) {
      deferred.set(fresh.id, fresh);
      return false;
    }
    deferred.delete(fresh.id);
    if (fresh.id === "timeline") {
      mergeList(current, fresh);
      return true;
    }
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    return true;
  }

  function swapRegions(html, ids) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const swapped = [];
    for (const id of ids) {
      const fresh = doc.getElementById(id);
      if (fresh && swapRegion(document.importNode(fresh, true))) swapped.push(id);
    }
    return swapped;
  }

  function flushDeferred() {
    for (const [id, fresh] of Array.from(deferred.entries())) {
      const current = document.getElementById(id);
      if (current && !busy(current)) swapRegion(fresh);
    }
  }
  document.addEventListener("focusout", () => setTimeout(flushDeferred, 0));
  document.addEventListener("toggle", (event) => {
    if (event.target instanceof HTMLDetailsElement && !event.target.open) setTimeout(flushDeferred, 0);
  }, true);

  async function fetchFragment(url) {
    const response = await fetch(url, { headers: { "HX-Request": "true", Accept: "text/html" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`${response.status} for ${url}`);
    return response.text();
  }

  // ---------------------------------------------------------------------------------- the inbox

  function inboxRows() { return $$("[data-testid='inbox-row']"); }

  function selectedRow() { return $(".inbox-row.is-selected"); }

  function selectRow(row, { focus = true } = {}) {
    for (const r of $$(".inbox-row.is-selected")) r.classList.remove("is-selected");
    if (!row) return;
    row.classList.add("is-selected");
    const link = $(".inbox-row-link", row);
    if (focus && link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function moveSelection(step) {
    const rows = inboxRows();
    if (!rows.length) return;
    const current = selectedRow() || (document.activeElement && document.activeElement.closest(".inbox-row"));
    let index = current ? rows.indexOf(current) + step : (step > 0 ? 0 : rows.length - 1);
    index = Math.max(0, Math.min(rows.length - 1, index));
    selectRow(rows[index]);
  }

  function openSelected() {
    const row = selectedRow() || (document.activeElement && document.activeElement.closest(".inbox-row"));
    const link = row && $(".inbox-row-link", row);
    if (link) link.click();
  }

  document.addEventListener("focusin", (event) => {
    const row = event.target instanceof Element && event.target.closest(".inbox-row");
    if (row) selectRow(row, { focus: false });
  });

  let inboxChanged = new Set();
  const refreshInbox = debounce(async () => {
    const list = $("#inbox-list");
    if (!list) return;
    // A paged or extended list would jump back to its first page: offer the refresh instead.
    if (list.dataset.paged || $$(".inbox-row", list).length > 50) {
      const stale = $("#inbox-stale");
      if (stale) stale.hidden = false;
      return;
    }
    const keep = selectedRow() ? selectedRow().dataset.number : null;
    const hadFocus = document.activeElement && list.contains(document.activeElement);
    const changed = inboxChanged;
    inboxChanged = new Set();
    try {
      const html = await fetchFragment(list.dataset.liveUrl);
      swapRegions(html, ["inbox-views", "inbox-list"]);
    } catch (error) {
      return;
    }
    for (const number of changed) {
      const row = document.getElementById(`inbox-row-${number}`);
      if (row) row.classList.add("is-fresh");
    }
    if (keep) {
      const row = document.getElementById(`inbox-row-${keep}`);
      if (row) selectRow(row, { focus: hadFocus });
    }
    applyPresence();
  }, 700);

  // --------------------------------------------------------------------------- the conversation

  let atBottom = true;
  let forceBottom = false;

  // On wide screens the thread scrolls in its own box; on phones the page scrolls.
  function scrollBox() {
    const box = $("#timeline-scroll");
    if (!box) return null;
    const overflow = getComputedStyle(box).overflowY;
    return overflow === "auto" || overflow === "scroll" ? box : null;
  }

  function nearBottom() {
    const box = scrollBox();
    if (box) return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const list = $("#timeline");
    return !list || list.getBoundingClientRect().bottom <= window.innerHeight + 80;
  }

  function scrollToBottom() {
    const box = scrollBox();
    if (box) {
      box.scrollTop = box.scrollHeight;
    } else {
      const last = $("#timeline > li:last-child");
      if (last) last.scrollIntoView({ block: "end" });
    }
    const pill = $("#new-activity");
    if (pill) pill.hidden = true;
  }

  function timelineCount() {
    const list = $("#timeline");
    return list ? $$("[data-testid='message'], [data-testid='timeline-event']", list).length : 0;
  }

  function setupConversation() {
    const box = $("#timeline-scroll");
    if (!box) return;
    // Open on the latest message, or on the one the URL points to.
    if (!location.hash || location.hash === "#composer") scrollToBottom();
    const track = () => {
      atBottom = nearBottom();
      if (atBottom) { const pill = $("#new-activity"); if (pill) pill.hidden = true; }
    };
    box.addEventListener("scroll", track, { passive: true });
    window.addEventListener("scroll", track, { passive: true });
    let count = timelineCount();
    new MutationObserver(() => {
      const now = timelineCount();
      if (forceBottom || atBottom) {
        scrollToBottom();
      } else if (now > count) {
        const pill = $("#new-activity");
        if (pill) pill.hidden = false;
      }
      forceBottom = false;
      count = now;
    }).observe(box, { childList: true, subtree: true });
    const pill = $("#new-activity");
    if (pill) pill.addEventListener("click", scrollToBottom);
    const composer = $("#composer");
    const main = $(".conv-main");
    if (composer && main && "ResizeObserver" in window) {
      new ResizeObserver(() => main.style.setProperty("--composer-h", `${composer.offsetHeight}px`)).observe(composer);
    }
  }

  // A page in view says so: the server then marks a chat's new messages read (the visitor sees it).
  const pageVisible = () => document.visibilityState === "visible";

  const refreshConversation = debounce(async (announceText) => {
    const url = body.dataset.regionsUrl;
    if (!url) return;
    try {
      const visible = isChat && pageVisible();
      const html = await fetchFragment(visible ? `${url}${url.includes("?") ? "&" : "?"}visible=1` : url);
      atBottom = nearBottom();
      swapRegions(html, ["conv-header", "timeline", "side-panel", "chat-handover"]);
      if (announceText) announce(announceText);
    } catch (error) {
      /* the next event or reconnect tries again */
    }
  }, 250);

  // Our own posts from the composer land at the bottom, where the agent expects them.
  document.addEventListener("htmx:before:swap", (event) => {
    const ctx = event.detail && event.detail.ctx;
    const source = ctx && ctx.sourceElement;
    const status = ctx && ctx.response ? ctx.response.status : 0;
    if (source instanceof Element && source.closest("#composer") && status >= 200 && status < 300) {
      forceBottom = true;
      stopReplying();
    }
  });

  // -------------------------------------------------------------------- presence and collisions

  const presence = new Map(); // conversation number → viewers (other agents)

  function presenceText(viewers) {
    const replying = viewers.filter((v) => v.state === "replying");
    const say = (key, list) => t(`${key}_${list.length > 1 ? "many" : "one"}`).replace("{names}", list.map((v) => v.name).join(", "));
    if (replying.length) return { text: say("replying", replying), replying: true };
    if (viewers.length) return { text: say("viewing", viewers), replying: false };
    return null;
  }

  function applyPresence() {
    if (conversationNumber !== null) {
      const banner = $("#collision-banner");
      if (banner) {
        const info = presenceText(presence.get(conversationNumber) || []);
        banner.hidden = !info;
        banner.classList.toggle("is-replying", Boolean(info && info.replying));
        banner.textContent = info ? info.text : "";
      }
    }
    for (const slot of $$("[data-presence-for]")) {
      const info = presenceText(presence.get(Number(slot.dataset.presenceFor)) || []);
      slot.textContent = info ? info.text : "";
    }
  }

  document.addEventListener("desk:presence", (event) => {
    const detail = event.detail || {};
    if (detail.conversation == null) return;
    const viewers = (detail.viewers || []).filter((v) => v && v.member !== myMember);
    presence.set(Number(detail.conversation), viewers);
    applyPresence();
  });

  // "Replying" is renewed while the agent types (at most every 5 s) and withdrawn after 8 s of
  // silence, when the field loses focus, or when the reply is sent.
  let replyingTimer = null;
  let replyingSentAt = 0;

  function realtime() { return window.deskRealtime && typeof window.deskRealtime.replying === "function" ? window.deskRealtime : null; }

  function startReplying() {
    if (conversationNumber === null) return;
    clearTimeout(replyingTimer);
    replyingTimer = setTimeout(stopReplying, 8000);
    if (Date.now() - replyingSentAt > 5000 && realtime()) {
      realtime().replying(conversationNumber, true);
      replyingSentAt = Date.now();
    }
  }

  function stopReplying() {
    clearTimeout(replyingTimer);
    if (replyingSentAt && realtime()) realtime().replying(conversationNumber, false);
    replyingSentAt = 0;
  }

  document.addEventListener("input", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.dataset.composer) return;
    // The composer grows with the text (CSS caps it), so long answers stay readable.
    field.style.height = "auto";
    field.style.height = `${field.scrollHeight + 2}px`;
    if (field.dataset.composer === "reply") {
      if (field.value.trim()) startReplying(); else stopReplying();
    }
  });
  document.addEventListener("focusout", (event) => {
    if (event.target instanceof HTMLTextAreaElement && event.target.dataset.composer) stopReplying();
  });

  // ------------------------------------------------------------------------------ live chat

  // "<customer> is typing…" while the visitor's latest word is "typing"; it goes after "stopped",
  // or after 8 s without renewal (a widget that went away says nothing more).
  const TYPING_MS = 8000;
  let typingTimer = null;

  function showTyping(on) {
    const slot = $("#typing-indicator");
    if (!slot) return;
    clearTimeout(typingTimer);
    slot.hidden = !on;
    slot.textContent = on ? t("typing").replace("{name}", slot.dataset.name || "") : "";
    if (on) typingTimer = setTimeout(() => showTyping(false), TYPING_MS);
  }

  document.addEventListener("desk:typing", (event) => {
    const d = event.detail || {};
    if (conversationNumber === null || d.conversation !== conversationNumber || d.who !== "customer") return;
    showTyping(d.state === true);
  });

  if (isChat && conversationNumber !== null) {
    // Back in view: what arrived meanwhile is read now.
    document.addEventListener("visibilitychange", () => { if (pageVisible()) refreshConversation(""); });
    // Whether the visitor is still on the site (and so where a reply goes) changes without any
    // event: look again now and then while the page is in view.
    setInterval(() => { if (pageVisible()) refreshConversation(""); }, 30000);
  }

  // ------------------------------------------------------------------------ visitors on the site

  async function refreshVisitors() {
    const url = body.dataset.visitorsUrl;
    if (!url || !pageVisible()) return;
    try {
      swapRegions(await fetchFragment(url), ["visitor-list"]);
    } catch (error) {
      /* the next round tries again */
    }
  }
  // The list is not swapped while a "Start chat" form is open or being typed in (see busy()).
  if (page === "visitors") setInterval(refreshVisitors, 10000);

  // -------------------------------------------------------------------------- live events

  const INBOX_KINDS = /^(message\.created|conversation\.)/;

  // A small note in the corner, e.g. when someone mentions me in another conversation.
  function toast(text, href) {
    let stack = $("#toasts");
    if (!stack) {
      stack = document.createElement("div");
      stack.id = "toasts";
      stack.className = "toasts";
      stack.setAttribute("role", "status");
      body.append(stack);
    }
    const item = document.createElement("div");
    item.className = "toast";
    item.dataset.testid = "toast";
    const link = document.createElement("a");
    link.href = href;
    link.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "icon-button";
    close.setAttribute("aria-label", t("close"));
    close.textContent = "✕";
    close.addEventListener("click", () => item.remove());
    item.append(link, close);
    stack.append(item);
    setTimeout(() => item.remove(), 15000);
  }

  document.addEventListener("desk:event", (event) => {
    const e = event.detail || {};
    if (page === "inbox" && INBOX_KINDS.test(e.kind || "")) {
      if (e.conversation != null) inboxChanged.add(e.conversation);
      refreshInbox();
    }
    if (e.kind === "member.mentioned" && e.data && e.data.member === myMember && e.conversation !== conversationNumber && body.dataset.tenant) {
      toast(t("mentioned").replace("{number}", e.conversation), `/t/${body.dataset.tenant}/c/${e.conversation}/`);
    }
    if (conversationNumber !== null && e.conversation === conversationNumber) {
      // An agent reading the chat changes nothing on screen (the visitor's read receipts do).
      if (e.kind === "message.read" && e.data && e.data.by === "agent") return;
      if (e.kind === "message.created" && e.actor == null && e.data && e.data.direction === "in") showTyping(false);
      const fromOther = e.actor == null || e.actor !== myMember;
      const text = e.kind === "message.created" && fromOther ? t("new_message") : "";
      refreshConversation(text);
    }
  });

  let wasOffline = false;
  document.addEventListener("desk:connection", (event) => {
    const online = event.detail && event.detail.state === "online";
    const indicator = $("#connection-status");
    if (indicator) indicator.hidden = online;
    if (online && wasOffline) {
      // Catch up on whatever happened while we were away.
      if (page === "inbox") refreshInbox();
      if (conversationNumber !== null) refreshConversation("");
    }
    wasOffline = !online;
  });

  // ----------------------------------------------------------------------- keyboard shortcuts

  function showHelp(show) {
    const help = $("#shortcuts-help");
    if (!help) return;
    help.hidden = !show;
    if (show) { const close = $("[data-close-overlay]", help); if (close) close.focus(); }
  }

  function clickShortcut(key) {
    const target = $(`[data-shortcut-key='${key}']`);
    if (!target) return false;
    if (target.tagName === "SUMMARY") {
      const details = target.parentElement;
      details.open = true;
      const first = $(".menu-item, button, input:not([type=hidden])", details.querySelector(".menu-body") || details);
      if (first) first.focus();
    } else {
      target.click();
    }
    return true;
  }

  function setComposerMode(mode) {
    const composer = $("#composer");
    if (!composer) return;
    composer.dataset.mode = mode;
    for (const tab of $$("[data-composer-tab]", composer)) {
      tab.setAttribute("aria-selected", String(tab.dataset.composerTab === mode));
    }
  }

  function focusComposer(mode) {
    setComposerMode(mode);
    const field = $(`#${mode}-text`);
    if (field) { field.focus(); field.scrollIntoView({ block: "nearest" }); }
  }

  document.addEventListener("click", (event) => {
    const tab = event.target instanceof Element && event.target.closest("[data-composer-tab]");
    if (tab) focusComposer(tab.dataset.composerTab);
  });

  let pendingG = 0;

  document.addEventListener("keydown", (event) => {
    const help = $("#shortcuts-help");
    if (help && !help.hidden) {
      if (event.key === "Escape" || event.key === "?") { event.preventDefault(); showHelp(false); }
      return;
    }
    const target = event.target;
    if (isTyping(target)) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target.form && target.dataset.composer) {
        event.preventDefault();
        const submit = $("button[type=submit].primary, button[type=submit].note-button", target.form);
        if (submit) submit.click(); else target.form.requestSubmit();
      } else if (event.key === "Escape" && !mentionOpen()) {
        target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      for (const open of $$("details.menu[open], details.filter-more[open]")) open.open = false;
      return;
    }
    const key = event.key;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      if (key === "i") { event.preventDefault(); location.href = inboxUrl; }
      return;
    }
    pendingG = 0;
    if (key === "g") { pendingG = Date.now(); return; }
    if (key === "?") { event.preventDefault(); showHelp(true); return; }
    if (page === "inbox") {
      if (key === "j" || key === "ArrowDown" && target.closest && target.closest(".inbox-row")) { event.preventDefault(); moveSelection(1); return; }
      if (key === "k" || key === "ArrowUp" && target.closest && target.closest(".inbox-row")) { event.preventDefault(); moveSelection(-1); return; }
      if (key === "o" || (key === "Enter" && selectedRow() && !(target instanceof HTMLAnchorElement))) { event.preventDefault(); openSelected(); return; }
    }
    if (conversationNumber !== null) {
      if (key === "r") { event.preventDefault(); focusComposer("reply"); return; }
      if (key === "n") { event.preventDefault(); focusComposer("note"); return; }
      if (key === "a" || key === "e" || key === "s") { if (clickShortcut(key)) event.preventDefault(); }
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("[data-close-overlay]") || target.matches(".overlay")) showHelp(false);
    // Menus close when clicking elsewhere.
    for (const open of $$("details.menu[open], details.filter-more[open]")) {
      if (!open.contains(target)) open.open = false;
    }
  });

  // ------------------------------------------------------------------------- small conveniences

  // Selects in forms marked data-autosubmit apply at once (the noscript button does it without JS).
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLSelectElement)) return;
    const form = field.form;
    if (form && form.hasAttribute("data-autosubmit")) form.requestSubmit();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    // Filter forms leave empty fields out of the address.
    if (form instanceof HTMLFormElement && form.method === "get" && form.hasAttribute("data-autosubmit")) {
      const empty = Array.from(form.elements).filter((f) => f.name && !f.disabled && f.value === "");
      empty.forEach((f) => { f.disabled = true; });
      setTimeout(() => empty.forEach((f) => { f.disabled = false; }), 0);
    }
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    if (form instanceof HTMLFormElement) {
      const menu = form.closest("details.menu");
      if (menu) setTimeout(() => { menu.open = false; }, 0);
    }
  }, true);

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.attachList) return;
    const list = document.getElementById(input.dataset.attachList);
    if (list) list.textContent = Array.from(input.files || []).map((f) => f.name).join(", ");
  });

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.filterList) return;
    const needle = input.value.trim().toLowerCase();
    const list = document.getElementById(input.dataset.filterList);
    if (!list) return;
    for (const item of $$("li", list)) item.hidden = Boolean(needle) && !item.textContent.toLowerCase().includes(needle);
  });

  // "Show remote images" reloads the frame with images allowed; the link's target does it without JS.
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("[data-show-images]");
    if (link) setTimeout(() => link.remove(), 0);
  });

  // ----------------------------------------------------------------------- @mention autocomplete

  let members = [];
  const membersData = document.getElementById("mention-members");
  if (membersData) {
    try { members = JSON.parse(membersData.textContent || "[]"); } catch (error) { members = []; }
  }
  let mention = null; // {field, start, items, index}

  function mentionOpen() { return mention !== null; }

  function closeMention() {
    const list = $("#mention-list");
    if (list) { list.hidden = true; list.textContent = ""; }
    if (mention) mention.field.removeAttribute("aria-activedescendant");
    mention = null;
  }

  function renderMention() {
    const list = $("#mention-list");
    if (!list || !mention) return;
    list.textContent = "";
    mention.items.forEach((m, i) => {
      const li = document.createElement("li");
      li.id = `mention-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === mention.index));
      const name = document.createElement("span");
      name.textContent = m.name;
      const handle = document.createElement("span");
      handle.className = "handle";
      handle.textContent = `@${m.handle}`;
      li.append(name, handle);
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pickMention(i); });
      list.append(li);
    });
    list.hidden = mention.items.length === 0;
    mention.field.setAttribute("aria-activedescendant", `mention-option-${mention.index}`);
  }

  function pickMention(index) {
    if (!mention) return;
    const chosen = mention.items[index];
    const field = mention.field;
    const caret = field.selectionStart;
    const before = field.value.slice(0, mention.start);
    const after = field.value.slice(caret);
    const insert = `@${chosen.handle} `;
    field.value = before + insert + after;
    const position = before.length + insert.length;
    field.setSelectionRange(position, position);
    closeMention();
    field.focus();
  }

  document.addEventListener("input", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLTextAreaElement) || !field.dataset.mentions) return;
    const caret = field.selectionStart;
    const match = /(^|[^\w@])@([\w.-]*)$/.exec(field.value.slice(0, caret));
    if (!match) { closeMention(); return; }
    const query = match[2].toLowerCase();
    const items = members.filter((m) => m.handle.startsWith(query) || m.name.toLowerCase().includes(query)).slice(0, 8);
    if (!items.length) { closeMention(); return; }
    mention = { field, start: caret - query.length - 1, items, index: 0 };
    renderMention();
  });

  document.addEventListener("keydown", (event) => {
    if (!mention || event.target !== mention.field) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const n = mention.items.length;
      mention.index = (mention.index + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderMention();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      pickMention(mention.index);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopImmediatePropagation();
      closeMention();
    }
  }, true);

  document.addEventListener("focusout", (event) => {
    if (mention && event.target === mention.field) setTimeout(closeMention, 100);
  });

  // ---------------------------------------------------------------------------------- start

  if (conversationNumber !== null) setupConversation();
  if (page === "inbox" && location.hash === "") {
    const first = inboxRows()[0];
    if (first) first.classList.add("is-selected");
  }
})();
