/* The compose page's person picker.
 *
 * Without this script the page is one form: a search box with a *Find* button that posts the draft and shows
 * it again with the people found, and a `recipient` list. With it, the search box suggests people as you type
 * (GET /api/messages/participants?search=, the page's session), arrow keys and Enter (or a click) pick one,
 * the chosen person shows as a chip with a Remove button, and the hidden `recipient` list holds the choice
 * that the form sends. The server decides who may be listed (`selectors.participants_for`); this script only
 * shows what it answers.
 */
(function () {
  "use strict";

  var picker = document.querySelector("[data-person-picker]");
  if (!picker || !window.fetch) return;
  var input = picker.querySelector("input[name=search]");
  var select = picker.querySelector("select[name=recipient]");
  var recipientRow = picker.querySelector("[data-recipient-row]");
  if (!input || !select || !recipientRow) return;

  var endpoint = picker.getAttribute("data-participants");
  var blocked = {};
  (picker.getAttribute("data-blocked") || "").split(" ").forEach(function (id) {
    if (id) blocked[id] = true;
  });
  var DELAY_MS = 180;
  var LIMIT = 8;

  // --- The picker's parts: a chip for the chosen person, a list of suggestions, a status for screen readers.
  picker.classList.add("is-enhanced");
  picker.querySelectorAll("[data-find], [data-find-hint]").forEach(function (element) {
    element.hidden = true;
  });
  recipientRow.hidden = true;
  // Errors about the recipient stay in sight, under the search box.
  var searchRow = input.closest(".picker-search");
  recipientRow.querySelectorAll(".errorlist").forEach(function (list) {
    searchRow.appendChild(list);
  });

  var chip = document.createElement("p");
  chip.className = "person-chip";
  chip.hidden = true;
  var chipName = document.createElement("span");
  chipName.className = "person-chip-name";
  var chipRemove = document.createElement("button");
  chipRemove.type = "button";
  chipRemove.className = "person-chip-remove";
  chipRemove.textContent = "×";
  chip.appendChild(document.createTextNode("To "));
  chip.appendChild(chipName);
  chip.appendChild(chipRemove);
  searchRow.parentNode.insertBefore(chip, searchRow);

  var listbox = document.createElement("ul");
  listbox.id = "person-suggestions";
  listbox.className = "person-suggestions";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", "People");
  listbox.hidden = true;
  input.parentNode.parentNode.insertBefore(listbox, input.parentNode.nextSibling);

  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  picker.appendChild(status);
  // What the chip stands for while a person is chosen: the box and its label.
  var searchParts = [searchRow.querySelector("label"), input.parentNode];

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", listbox.id);
  input.setAttribute("aria-expanded", "false");

  var people = []; // the suggestions shown: rows of the participants API
  var active = -1; // the index of the highlighted suggestion
  var timer = null;
  var latest = 0; // the number of the newest request: an older answer arriving late is dropped
  var controller = null;

  function nameOf(person) {
    return person.display_name && person.display_name !== person.username
      ? person.display_name + " (@" + person.username + ")"
      : person.username;
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var options = listbox.querySelectorAll("[role=option]");
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function show(found, query) {
    people = found;
    listbox.textContent = "";
    active = -1;
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "person-none";
      none.textContent = query ? "Nobody matches “" + query + "”." : "Nobody to write to yet.";
      listbox.appendChild(none);
    }
    found.forEach(function (person, index) {
      var option = document.createElement("li");
      option.id = "person-" + person.id;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-person-id", String(person.id));
      var name = document.createElement("span");
      name.className = "person-name";
      name.textContent = person.display_name || person.username;
      var handle = document.createElement("span");
      handle.className = "person-handle";
      handle.textContent = "@" + person.username;
      option.appendChild(name);
      option.appendChild(handle);
      if (blocked[String(person.id)]) {
        var mark = document.createElement("span");
        mark.className = "blocked-mark";
        mark.textContent = "blocked";
        option.appendChild(mark);
      }
      // mousedown, not click: the search box keeps the focus (its blur would close the list first).
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(index);
      });
      listbox.appendChild(option);
    });
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = found.length === 1 ? "1 person found." : found.length + " people found.";
    if (found.length) highlight(0);
  }

  function search() {
    var query = input.value.trim();
    var number = ++latest;
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    var url = endpoint + "?page_size=" + LIMIT + (query ? "&search=" + encodeURIComponent(query) : "");
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (page) {
        if (number === latest && document.activeElement === input) show(page.results || [], query);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        if (number !== latest) return;
        // The page still works as without the script: show the Find button again.
        status.textContent = "People could not be loaded. Press Find to search.";
        picker.querySelectorAll("[data-find]").forEach(function (element) {
          element.hidden = false;
        });
        recipientRow.hidden = false;
        close();
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, DELAY_MS);
  }

  function setChosen(id, label) {
    if (!id) {
      select.value = "";
      chip.hidden = true;
      searchParts.forEach(function (part) {
        part.hidden = false;
      });
      return;
    }
    var option = select.querySelector('option[value="' + id + '"]');
    if (!option) {
      option = new Option(label, id);
      select.appendChild(option);
    }
    select.value = id;
    chipName.textContent = label;
    chipRemove.setAttribute("aria-label", "Remove " + label);
    chipRemove.title = "Remove " + label;
    chip.classList.toggle("is-blocked", Boolean(blocked[id]));
    chip.hidden = false;
    searchParts.forEach(function (part) {
      part.hidden = true;
    });
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function choose(index) {
    var person = people[index];
    if (!person) return;
    close();
    input.value = "";
    setChosen(String(person.id), nameOf(person) + (blocked[String(person.id)] ? " (blocked)" : ""));
    status.textContent = nameOf(person) + " chosen.";
    var body = document.querySelector("[name=body]");
    if (body) body.focus();
  }

  input.addEventListener("input", later);
  input.addEventListener("focus", later);
  input.addEventListener("blur", function () {
    window.clearTimeout(timer);
    close();
  });
  input.addEventListener("keydown", function (event) {
    var open = !listbox.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        search();
        return;
      }
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      // Enter picks; it never posts the form from here (the Find button is the script-less way).
      event.preventDefault();
      if (open && active >= 0) choose(active);
      else search();
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    }
  });

  chipRemove.addEventListener("click", function () {
    setChosen("", "");
    status.textContent = "No one chosen.";
    input.focus();
  });

  // Typed into before this script ran (a slow page): search it now rather than at the next keystroke.
  if (document.activeElement === input) later();

  // The person already chosen (`?to=`, or a draft shown again after an error).
  if (select.value) {
    setChosen(select.value, select.options[select.selectedIndex].text);
  }
})();
