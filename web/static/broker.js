// Keyboard shortcuts of the broker queue (the buttons work without them):
// J / K select the next / previous match, A accepts it, R rejects it with the chosen reason, O opens it.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-queue] .queue-item[data-match]"));
  if (!items.length) {
    return;
  }
  var current = -1;

  function select(index) {
    if (index < 0 || index >= items.length) {
      return;
    }
    if (current >= 0) {
      items[current].classList.remove("selected");
    }
    current = index;
    items[current].classList.add("selected");
    items[current].focus();
  }

  items.forEach(function (item, index) {
    item.addEventListener("focusin", function () {
      if (current !== index) {
        select(index);
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    // Typing in a field or choosing in a list is never a shortcut.
    if (event.target.closest("input, select, textarea, [contenteditable]")) {
      return;
    }
    var key = event.key.toLowerCase();
    var item = current >= 0 ? items[current] : null;
    if (key === "j") {
      select(current + 1);
    } else if (key === "k") {
      select(current <= 0 ? 0 : current - 1);
    } else if (key === "a" && item) {
      var accept = item.querySelector("form[data-accept]");
      if (accept) {
        accept.requestSubmit();
      }
    } else if (key === "r" && item) {
      var reject = item.querySelector("form[data-reject]");
      if (!reject) {
        return;
      }
      var reason = reject.querySelector("select[name=reason]");
      if (reason.value) {
        reject.requestSubmit();
      } else {
        reason.focus(); // choose a reason first, then press the button (or R again)
      }
    } else if (key === "o" && item) {
      window.location.assign(item.querySelector("a.open").href);
    } else {
      return;
    }
    event.preventDefault();
  });
})();
