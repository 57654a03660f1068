// The reply composer: Enter sends, Shift+Enter breaks the line; a quick reply is inserted at the
// cursor. Without JavaScript the form posts as usual and the picker reloads the page with the
// chosen reply in the box.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-composer]").forEach((form) => {
    const text = form.querySelector("[data-composer-text]");
    if (!text) return;
    let sending = false;
    text.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      if (text.value.trim()) form.requestSubmit();
    });
    form.addEventListener("submit", (event) => {
      if (sending) { event.preventDefault(); return; }  // one reply per press, however fast
      sending = true;
    });
  });
  document.querySelectorAll("[data-quick-picker]").forEach((picker) => {
    picker.addEventListener("submit", (event) => {
      const select = picker.querySelector("[data-quick-select]");
      const text = document.querySelector("[data-composer-text]");
      const chosen = select && select.selectedOptions[0];
      if (!text || !chosen) return;
      event.preventDefault();
      const start = text.selectionStart;
      const end = text.selectionEnd;
      text.setRangeText(chosen.dataset.text || "", start, end, "end");
      text.focus();
    });
  });
});
