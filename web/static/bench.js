// Line numbers next to code textareas (.code-editor); the gutter scrolls with the text.
(function () {
  "use strict";
  function attach(editor) {
    var gutter = editor.querySelector(".code-gutter");
    var input = editor.querySelector("textarea");
    if (!gutter || !input) { return; }
    function render() {
      var count = input.value.split("\n").length;
      var lines = [];
      for (var i = 1; i <= count; i += 1) { lines.push(String(i)); }
      gutter.textContent = lines.join("\n");
      gutter.scrollTop = input.scrollTop;
    }
    input.addEventListener("input", render);
    input.addEventListener("scroll", function () { gutter.scrollTop = input.scrollTop; });
    editor.classList.add("has-gutter");
    render();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".code-editor").forEach(attach);
  });
}());
