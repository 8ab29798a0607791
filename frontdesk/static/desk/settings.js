// Settings pages: copy buttons for secrets and addresses, confirmation of destructive buttons.
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    // No clipboard API (plain http, old browser): select the text for Ctrl+C instead.
    field.focus();
    field.select();
    return;
  }
  button.textContent = button.dataset.copied || "✓";
  button.classList.add("copied");
  setTimeout(() => { button.textContent = original; button.classList.remove("copied"); }, 2000);
});

document.addEventListener("submit", (event) => {
  const submitter = event.submitter;
  const question = submitter && submitter.dataset ? submitter.dataset.confirm : null;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Channel settings: buttons that fill in a well-known provider's servers (Gmail, Microsoft 365…).
// The presets come from the server in data-presets; every value stays editable afterwards.
document.addEventListener("alpine:init", () => {
  window.Alpine.data("channelPresets", () => ({
    presets: {},
    note: "",
    init() {
      try {
        this.presets = JSON.parse(this.$el.dataset.presets || "{}");
      } catch {
        this.presets = {};
      }
    },
    apply(key) {
      const preset = this.presets[key];
      const form = this.$el.closest("form");
      if (!preset || !form) return;
      const field = (name) => form.elements.namedItem(`config-${name}`);
      const set = (input, value) => {
        if (input.type === "checkbox") input.checked = Boolean(value);
        else input.value = String(value);
        input.dispatchEvent(new Event("change", { bubbles: true }));
      };
      for (const [name, value] of Object.entries(preset.values || {})) {
        const input = field(name);
        if (input) set(input, value);
      }
      const address = field("address");
      for (const name of preset.from_address || []) {
        const input = field(name);
        if (input && !input.value && address && address.value) set(input, address.value.trim());
      }
      this.note = preset.help || "";
      const first = field("imap_host");
      if (first) first.focus();
    },
  }));
});
