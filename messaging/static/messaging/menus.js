/* Relay: the thread's menus (`<details class="menu">`) behave as menus do.
 *
 * The menus are plain <details>: they open, and their links and forms work, without this script. With it,
 * opening one closes the others; a click outside an open menu or the Escape key closes it (Escape gives the
 * focus back to its button); and a menu stays open when live.js puts a fresh copy of the thread in place.
 * Listeners sit on the document, so the menus of a fresh copy behave the same.
 */
(function () {
  "use strict";

  // The open menu, by the id of the element it belongs to ("message-12"; "main" for the header's menu): a
  // fresh copy of the thread has new elements with the same ids.
  var openKey = null;

  function keyOf(menu) {
    var owner = menu.parentElement ? menu.parentElement.closest("[id]") : null;
    return (owner ? owner.id : "") + " " + menu.className;
  }

  function closeAll(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) {
        menu.open = false;
      }
    });
  }

  // `toggle` does not bubble: listen in the capture phase.
  document.addEventListener(
    "toggle",
    function (event) {
      var menu = event.target;
      if (!menu.matches || !menu.matches("details.menu")) {
        return;
      }
      if (menu.open) {
        openKey = keyOf(menu);
        closeAll(menu);
      } else if (menu.isConnected && openKey === keyOf(menu)) {
        openKey = null;
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var inside = event.target.closest ? event.target.closest("details.menu") : null;
    closeAll(inside);
    // A click on a closed menu's button opens it after this listener, and its `toggle` event comes later
    // still: a fresh copy put in place in between takes the menu out of the document, where that event no
    // longer reaches this script. The menu is the open one from the click on, so its copy opens.
    var button = event.target.closest ? event.target.closest("summary") : null;
    if (inside && !inside.open && button && button.parentElement === inside) {
      openKey = keyOf(inside);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var inside = document.activeElement ? document.activeElement.closest("details.menu[open]") : null;
    closeAll(null);
    if (inside) {
      inside.querySelector("summary").focus();
    }
  });

  // A fresh copy of the thread (live.js) replaced the open menu: open its copy.
  new MutationObserver(function () {
    if (openKey === null || document.querySelector("details.menu[open]")) {
      return;
    }
    var copies = Array.prototype.filter.call(document.querySelectorAll("details.menu"), function (menu) {
      return keyOf(menu) === openKey;
    });
    if (copies.length === 1) {
      copies[0].open = true;
    } else {
      openKey = null;
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
