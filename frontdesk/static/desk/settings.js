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
