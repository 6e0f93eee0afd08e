/* The composer of the thread and compose pages (templates/messaging/_message_fields.html).
 *
 * - Enter sends, Shift+Enter breaks a line (not while an input method is composing a character, nor on a
 *   touch screen, whose keyboard has no Shift+Enter: there the Send button sends).
 * - A file over the limit is refused at the field before anything is sent, with the server's own text
 *   (the widget's data-too-large); a message with neither text nor file likewise (data-empty).
 * - A file dropped anywhere on the page, or pasted into the message, goes into the file input; its name and
 *   size are shown beside it.
 * - "Cancel reply" forgets the quoted message without reloading (without this script it is a plain link).
 *
 * Without this script the form works the same, checked by the server.
 */
(function () {
  "use strict";

  var body = document.querySelector("textarea[data-composer-body]");
  if (!body || !body.form) return;
  var form = body.form;
  var input = form.querySelector('input[type="file"][name="attachment"]');
  var picked = form.querySelector("[data-picked]");
  var maxBytes = input ? Number(input.dataset.maxBytes) : 0;
  var sending = false;
  form.classList.add("has-composer-script"); // the chosen file's name is shown by this script (showPicked)

  // The same rule as messaging/web/forms.py's megabytes().
  function readableSize(size) {
    var units = [["MB", 1024 * 1024], ["KB", 1024]];
    for (var i = 0; i < units.length; i++) {
      if (size >= units[i][1]) return (size / units[i][1]).toFixed(1).replace(/\.0$/, "") + " " + units[i][0];
    }
    return size + " bytes";
  }

  // Errors are shown as Django renders them: a list under the field (id "<field id>_error"), which the field
  // names in its aria-describedby and marks aria-invalid.
  function showError(field, text) {
    var box = form.querySelector('[data-errors-for="' + field + '"]');
    var control = form.elements[field];
    if (!box || !control) return;
    var errorId = control.id + "_error";
    var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== errorId;
    });
    box.textContent = "";
    if (text) {
      var list = document.createElement("ul");
      list.className = "errorlist";
      list.id = errorId;
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
      box.appendChild(list);
      described.push(errorId);
      control.setAttribute("aria-invalid", "true");
    } else {
      control.removeAttribute("aria-invalid");
    }
    if (described.length) control.setAttribute("aria-describedby", described.join(" "));
    else control.removeAttribute("aria-describedby");
  }

  function chosenFile() {
    return input && input.files && input.files.length ? input.files[0] : null;
  }

  // True when the chosen file (if any) may be sent; else the error is at the field.
  function fileFits() {
    var file = chosenFile();
    if (file && maxBytes && file.size > maxBytes) {
      showError("attachment", input.dataset.tooLarge);
      return false;
    }
    showError("attachment", "");
    return true;
  }

  function showPicked() {
    if (!picked) return;
    var file = chosenFile();
    picked.textContent = "";
    picked.hidden = !file;
    if (!file) return;
    var name = document.createElement("span");
    name.className = "composer-picked-name";
    name.textContent = file.name;
    var size = document.createElement("span");
    size.className = "size";
    size.textContent = " (" + readableSize(file.size) + ") ";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + file.name);
    remove.addEventListener("click", function () {
      input.value = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.focus();
    });
    picked.append(name, size, remove);
  }

  function useFile(file) {
    if (!input || !file) return;
    var transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  if (input) {
    input.addEventListener("change", function () {
      var again = form.querySelector(".composer-again"); // "Choose <file> again" after a refused form
      if (again) again.remove();
      showPicked();
      fileFits();
    });
    showPicked(); // a file a browser kept after "back"
  }

  form.addEventListener("submit", function (event) {
    if (sending) {
      event.preventDefault(); // a second Enter while the first send is on its way
      return;
    }
    if (!fileFits()) {
      event.preventDefault();
      input.focus();
      return;
    }
    if (!body.value.trim() && !chosenFile()) {
      event.preventDefault();
      showError("body", body.dataset.empty);
      body.focus();
      return;
    }
    sending = true;
  });
  // A page shown again from the back-forward cache may send again.
  window.addEventListener("pageshow", function () {
    sending = false;
  });
  body.addEventListener("input", function () {
    if (body.value.trim()) showError("body", "");
  });

  var touchFirst = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  if (!touchFirst && !body.placeholder) body.placeholder = "Enter sends, Shift+Enter starts a new line";
  body.addEventListener("keydown", function (event) {
    // keyCode 229: a key an input method is handling (Safari ends a composition before isComposing says so).
    if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
    if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || touchFirst) return;
    event.preventDefault();
    form.requestSubmit();
  });

  // Files dropped anywhere on the page go to the composer; without this, a missed drop would open the file
  // in the tab and lose the draft.
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
  }
  var dragDepth = 0;
  document.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    dragDepth += 1;
    form.classList.add("is-dropping");
  });
  document.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) form.classList.remove("is-dropping");
  });
  document.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("drop", function (event) {
    dragDepth = 0;
    form.classList.remove("is-dropping");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    useFile(event.dataTransfer.files[0]);
    body.focus();
  });

  // An image pasted from the clipboard (a screenshot) is attached; pasted text stays text.
  body.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    if (!data || !data.files || !data.files.length) return;
    useFile(data.files[0]);
    if (!data.getData("text/plain")) event.preventDefault();
  });

  // "Cancel reply": forget the quoted message here; the address loses its ?reply_to= too, so a reload agrees.
  var cancel = form.querySelector("[data-cancel-reply]");
  if (cancel) {
    cancel.addEventListener("click", function (event) {
      event.preventDefault();
      var context = form.querySelector("[data-reply-context]");
      if (form.elements.reply_to) form.elements.reply_to.value = "";
      if (context) context.remove();
      var url = new URL(window.location.href);
      url.searchParams.delete("reply_to");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
      body.focus();
    });
  }
})();
