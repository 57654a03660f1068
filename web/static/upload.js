// Drag-and-drop onto the BPMN drop zone; the file input stays the keyboard and fallback path.
(function () {
  "use strict";
  function attach(zone) {
    var input = zone.querySelector("input[type=file]");
    var chosen = zone.querySelector(".drop-chosen");
    if (!input) { return; }
    function show() {
      if (chosen) {
        var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
        chosen.textContent = names.length ? "Chosen: " + names.join(", ") : "";
      }
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("is-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) { return; }
      try {
        var transfer = new DataTransfer();
        for (var i = 0; i < (input.multiple ? files.length : 1); i += 1) { transfer.items.add(files[i]); }
        input.files = transfer.files;
      } catch (err) {
        if (chosen) { chosen.textContent = "Dropping is not supported here; please choose the file."; }
        return;
      }
      show();
    });
    input.addEventListener("change", show);
    zone.classList.add("is-droppable");
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".drop-zone").forEach(attach);
  });
}());
