/* The thread page's Edit: the form opens inside the message instead of on a page of its own.
 *
 * Without this script the message menu's "Edit" link opens the edit page (/inbox/messages/<id>/edit/), whose
 * form posts the new body and comes back to the thread. With it, the same page is fetched and its form
 * (`data-edit-form`) is put in the message's place, so the form is rendered by its template only; it posts
 * to the same URL. Escape or Cancel closes it and shows the message again; Enter saves and Shift+Enter starts
 * a new line, as in the composer. One form is open at a time. While one is open live.js holds its refresh of
 * the thread (which would replace the form): closing it sends `relay:edit-closed`, and the held refresh runs.
 * Plain JavaScript, loaded from this origin (the CSP's 'self').
 */
(function () {
  "use strict";

  if (!window.fetch || !window.DOMParser) {
    return;
  }

  var open = null; // {message, form, link}: the form that is open

  function close(giveFocusBack) {
    if (!open) {
      return;
    }
    var closing = open;
    open = null;
    closing.form.remove();
    closing.message.classList.remove("editing");
    if (giveFocusBack) {
      var summary = closing.message.querySelector("details.message-menu > summary");
      if (summary) {
        summary.focus();
      }
    }
    document.dispatchEvent(new CustomEvent("relay:edit-closed"));
  }

  function start(link) {
    var message = link.closest("li[data-message-id]");
    if (!message) {
      window.location.href = link.href;
      return;
    }
    var menu = link.closest("details");
    if (menu) {
      menu.open = false;
    }
    close(false);
    fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var form = page.querySelector("form[data-edit-form]");
        if (!form || !message.isConnected) {
          // No form to open here (the edit window closed meanwhile: the page says why), or the thread changed.
          window.location.href = link.href;
          return;
        }
        form = document.importNode(form, true);
        message.classList.add("editing");
        message.insertBefore(form, message.querySelector(".message-foot"));
        open = { message: message, form: form, link: link };
        var field = form.querySelector("textarea");
        if (field) {
          field.focus();
          field.setSelectionRange(field.value.length, field.value.length);
        }
      })
      .catch(function () {
        window.location.href = link.href;
      });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : event.target.parentElement;
    if (!target) {
      return;
    }
    var link = target.closest("a[data-edit]");
    if (link) {
      event.preventDefault();
      start(link);
      return;
    }
    if (open && target.closest("[data-edit-cancel]") && open.form.contains(target)) {
      event.preventDefault();
      close(true);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!open || !open.form.contains(event.target)) {
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      open.form.requestSubmit();
    }
  });

})();
