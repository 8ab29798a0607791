// The public contact form: focus what needs attention, send once, tell an embedding page our height.
(function () {
  "use strict";

  function postHeight() {
    if (window.parent === window) return;
    var height = Math.ceil(document.documentElement.scrollHeight);
    // Only a number leaves the frame; embed.js on the shop's page resizes the iframe with it.
    window.parent.postMessage({ frontdeskForm: { height: height } }, "*");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var focus = document.querySelector("[data-focus-on-load]");
    if (focus) focus.focus();

    var page = document.querySelector("[data-page-field]");
    if (page && !page.value && document.referrer) page.value = document.referrer.slice(0, 500);

    var form = document.querySelector("[data-contact-form]");
    if (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (!button) return;
        // The server drops a repeat of the same form anyway; this spares the customer the doubt.
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.getAttribute("data-sending-label") || button.textContent;
        }, 0);
      });
    }

    postHeight();
    if (window.ResizeObserver) new ResizeObserver(postHeight).observe(document.body);
  });

  // Coming back with the browser's back button: the button must work again.
  window.addEventListener("pageshow", function () {
    var button = document.querySelector("[data-contact-form] button[type=submit]");
    if (button) button.disabled = false;
  });
})();
