// Admin pages, progressive enhancement only: every action also works with plain forms.
// Form Settings: drag a type from the palette onto the custom parameters to open the add form;
// drag a parameter to reorder it. Live chat settings: preview the name template as it is typed.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("[data-param-list]");
  if (list) {
    const token = document.querySelector("input[name=csrf_token]");
    const moveTo = (key, position) => {
      const body = new FormData();
      body.append("csrf_token", token ? token.value : "");
      body.append("position", String(position));
      const url = list.dataset.moveUrl.replace("__KEY__", encodeURIComponent(key));
      fetch(url, { method: "POST", body, credentials: "same-origin" })
        .then(() => window.location.reload());
    };
    document.querySelectorAll("[data-type]").forEach((item) => {
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("application/x-param-type", item.dataset.type);
        event.dataTransfer.effectAllowed = "copy";
      });
    });
    list.querySelectorAll("[data-key]").forEach((item) => {
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("application/x-param-key", item.dataset.key);
        event.dataTransfer.effectAllowed = "move";
      });
    });
    list.addEventListener("dragover", (event) => {
      event.preventDefault();
      list.classList.add("is-drop-target");
    });
    list.addEventListener("dragleave", () => list.classList.remove("is-drop-target"));
    list.addEventListener("drop", (event) => {
      event.preventDefault();
      list.classList.remove("is-drop-target");
      const type = event.dataTransfer.getData("application/x-param-type");
      if (type) {
        const url = new URL(list.dataset.addUrl, window.location.href);
        url.searchParams.set("type", type);
        url.hash = "param-form-title";
        window.location.assign(url.toString());
        return;
      }
      const key = event.dataTransfer.getData("application/x-param-key");
      if (!key) return;
      const items = Array.from(list.querySelectorAll("[data-key]"));
      const target = event.target.closest("[data-key]");
      const position = target ? items.indexOf(target) + 1 : items.length;
      if (target && target.dataset.key === key) return;
      moveTo(key, position);
    });
  }

  const form = document.querySelector("[data-template-form]");
  if (form) {
    const input = form.querySelector("#name-template");
    const output = form.querySelector("[data-template-preview]");
    const error = form.querySelector("[data-template-error]");
    let timer = 0;
    let asked = 0;
    const show = (data) => {
      if (data.ok) {
        output.textContent = data.session_id ? data.name : "(no session in this live chat yet)";
        error.hidden = true;
        error.textContent = "";
        input.removeAttribute("aria-invalid");
      } else {
        output.textContent = "";
        error.textContent = data.error;
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
      }
    };
    const preview = () => {
      const number = ++asked;
      const url = new URL(form.dataset.previewUrl, window.location.href);
      url.searchParams.set("template", input.value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json())
        .then((data) => { if (number === asked) show(data); })
        .catch(() => {});
    };
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(preview, 250);
    });
  }
});
