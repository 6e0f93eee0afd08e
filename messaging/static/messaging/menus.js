/* Relay: the thread's menus (`<details class="menu">`) close as menus do.
 *
 * The menus are plain <details>: they open, and their links and forms work, without this script. With it,
 * opening one closes the others, and a click outside an open menu or the Escape key closes it (Escape gives
 * the focus back to its button). Listeners sit on the document, so menus of a thread fetched again by
 * live.js behave the same.
 */
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll("details.menu[open]");
  }

  function closeAll(except) {
    openMenus().forEach(function (menu) {
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
      if (menu.matches && menu.matches("details.menu") && menu.open) {
        closeAll(menu);
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var inside = event.target.closest ? event.target.closest("details.menu") : null;
    closeAll(inside);
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
})();
