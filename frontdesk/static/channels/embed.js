// Frontdesk contact form embed: sizes <iframe data-frontdesk-form> to its content.
// Include once on the page that embeds the form (the settings page shows the snippet).
(function () {
  "use strict";
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object" || !data.frontdeskForm) return;
    var height = Number(data.frontdeskForm.height);
    if (!isFinite(height) || height < 100 || height > 10000) return;
    var frames = document.querySelectorAll("iframe[data-frontdesk-form]");
    for (var i = 0; i < frames.length; i++) {
      // Only the frame that sent the message, never another one on the page.
      if (frames[i].contentWindow === event.source) frames[i].style.height = height + 20 + "px";
    }
  });
})();
