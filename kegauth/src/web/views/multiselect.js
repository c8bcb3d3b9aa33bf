// kegauth's searchable multi-select (served at /kegauth/multiselect.js).
//
// It enhances every <select multiple data-kegauth-multiselect>: the select
// stays in the form (hidden) and keeps the choices, so the form posts as
// without script, and works as before when script is off. The widget: the
// chosen items as chips, each with a remove button; a combobox input that
// filters the other choices as one types; a listbox of them. Keys: Down/Up
// move through the list, Enter picks, Escape closes, Backspace in the empty
// input removes the last chip. Changes are announced in a polite live region.
(function () {
  "use strict";

  var count = 0;

  function enhance(select) {
    if (select.dataset.kegauthEnhanced) return;
    select.dataset.kegauthEnhanced = "1";
    var n = ++count;
    var noMatches = select.dataset.noMatches || "No matches";
    var removeText = select.dataset.removeLabel || "Remove";
    var addedText = select.dataset.addedLabel || "added";
    var removedText = select.dataset.removedLabel || "removed";

    var box = document.createElement("div");
    box.className = "kms";
    var chips = document.createElement("ul");
    chips.className = "kms-chips";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "kms-input";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    var list = document.createElement("ul");
    list.className = "kms-list";
    list.id = "kms-list-" + n;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("aria-controls", list.id);
    var status = document.createElement("div");
    status.className = "kms-status";
    status.setAttribute("aria-live", "polite");

    // The page's <label for=...> names the input from now on.
    if (select.id) {
      input.id = select.id;
      select.id = select.id + "-native";
      list.setAttribute("aria-label", labelText(input.id));
    }
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    box.appendChild(chips);
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(status);
    select.parentNode.insertBefore(box, select.nextSibling);

    var active = -1;
    var shown = [];

    function labelText(id) {
      var label = document.querySelector('label[for="' + id + '"]');
      return label ? label.textContent.trim() : "";
    }

    function say(text) {
      status.textContent = text;
    }

    function renderChips() {
      chips.textContent = "";
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.selected) return;
        var chip = document.createElement("li");
        chip.className = "kms-chip";
        var text = document.createElement("span");
        text.textContent = option.text;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "kms-remove";
        remove.textContent = "\u00d7";
        remove.setAttribute("aria-label", removeText + " " + option.text);
        remove.addEventListener("click", function () {
          option.selected = false;
          changed(option.text + " " + removedText);
          input.focus();
        });
        chip.appendChild(text);
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function renderList() {
      var q = input.value.trim().toLowerCase();
      list.textContent = "";
      shown = Array.prototype.filter.call(select.options, function (option) {
        return !option.selected && option.text.toLowerCase().indexOf(q) !== -1;
      });
      if (active >= shown.length) active = shown.length - 1;
      if (active < 0 && shown.length && q) active = 0;
      shown.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.className = "kms-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", i === active ? "true" : "false");
        item.textContent = option.text;
        item.addEventListener("mousedown", function (e) {
          e.preventDefault(); // keep the focus in the input
          pick(option);
        });
        list.appendChild(item);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "kms-none";
        none.textContent = noMatches;
        list.appendChild(none);
      }
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", list.id + "-" + active);
        var el = document.getElementById(list.id + "-" + active);
        if (el && el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      renderList();
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function changed(message) {
      select.dispatchEvent(new Event("change", { bubbles: true }));
      renderChips();
      if (!list.hidden) renderList();
      say(message);
    }

    function pick(option) {
      option.selected = true;
      input.value = "";
      active = -1;
      changed(option.text + " " + addedText);
    }

    input.addEventListener("input", function () {
      active = -1;
      open();
    });
    input.addEventListener("focus", open);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        if (list.hidden) open();
        active = Math.min(active + 1, shown.length - 1);
        renderList();
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        active = Math.max(active - 1, 0);
        renderList();
      } else if (e.key === "Enter") {
        if (!list.hidden && active >= 0 && shown[active]) {
          e.preventDefault(); // pick, do not submit the form
          pick(shown[active]);
        }
      } else if (e.key === "Escape") {
        if (!list.hidden) {
          e.preventDefault();
          close();
        }
      } else if (e.key === "Backspace" && input.value === "") {
        var chosen = Array.prototype.filter.call(select.options, function (o) {
          return o.selected;
        });
        var last = chosen[chosen.length - 1];
        if (last) {
          last.selected = false;
          changed(last.text + " " + removedText);
        }
      }
    });
    renderChips();
  }

  function start() {
    Array.prototype.forEach.call(
      document.querySelectorAll("select[multiple][data-kegauth-multiselect]"),
      enhance
    );
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
