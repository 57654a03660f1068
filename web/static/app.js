// Progressive enhancement: pencils open their edit form in place; without JavaScript the
// pencil links open the same form through a page load.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const wire = (scope, rootSel, toggleSel, viewSel, formSel, cancelSel) => {
    const roots = [...(scope.matches && scope.matches(rootSel) ? [scope] : []), ...scope.querySelectorAll(rootSel)];
    roots.forEach((root) => {
      const toggle = root.querySelector(toggleSel);
      const view = root.querySelector(viewSel);
      const form = root.querySelector(formSel);
      const cancel = root.querySelector(cancelSel);
      if (!toggle || !form) return;
      const show = (open) => {
        form.hidden = !open;
        if (view) view.hidden = open;
        toggle.setAttribute("aria-expanded", String(open));
        if (open) {
          const input = form.querySelector("input:not([type=hidden]), select, textarea");
          if (input) { input.focus(); if (input.select) input.select(); }
        } else {
          toggle.focus();
        }
      };
      toggle.addEventListener("click", (event) => { event.preventDefault(); show(form.hidden); });
      if (cancel) cancel.addEventListener("click", (event) => { event.preventDefault(); show(false); });
      form.addEventListener("keydown", (event) => {
        if (event.key === "Escape") { event.preventDefault(); show(false); }
      });
    });
  };
  // The thread shows the newest message at the bottom: start there.
  document.querySelectorAll(".thread").forEach((thread) => { thread.scrollTop = thread.scrollHeight; });
  // Copy buttons (shown only with JavaScript): the clipboard API, or selecting and copying.
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const input = document.getElementById(button.dataset.copy);
    const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      let copied = false;
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch (_) {
        input.select();
        copied = document.execCommand("copy");
      }
      if (status) status.textContent = copied ? "Copied." : "Select the text and copy it.";
    });
  });
  // Presence and similar one-choice forms send themselves when the choice changes.
  document.querySelectorAll("[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  document.querySelectorAll("[data-js-hide]").forEach((element) => { element.hidden = true; });
  const wireAll = (scope) => {
    wire(scope, "[data-rename]", "[data-rename-toggle]", "[data-rename-view]", "[data-rename-form]", "[data-rename-cancel]");
    wire(scope, "[data-edit]", "[data-edit-toggle]", "[data-edit-view]", "[data-edit-form]", "[data-edit-cancel]");
  };
  wireAll(document);
  // live.js swapped in a fresh copy of a part of the page: give its pencils their behaviour.
  document.addEventListener("live:swapped", (event) => wireAll(event.detail));
});
