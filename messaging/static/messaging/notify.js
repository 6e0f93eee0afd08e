/* Desktop notifications: a message that arrives while Relay's tab is hidden shows one, with its sender and a
 * short preview; clicking it opens the thread at that message (`?anchor=<id>#message-<id>`).
 *
 * - Opt-in only: the browser's permission is asked from the settings page's button
 *   (`[data-desktop-notifications]`), never on load; the choice is kept in this browser (localStorage), and
 *   the same button turns them off again.
 * - It hears live.js's events (`relay:live` on the document): a `message.created` carries the message as the
 *   reader sees it. Whether its conversation is muted is read from `GET /api/messages/conversations` (the
 *   session's own; the new message's conversation is the newest there): a muted one stays silent, and so does
 *   one not found there (the reader's own message from another device, say).
 * - Each tab of the reader hears the event; the notification's `tag` (the message's id) makes the browser
 *   show one.
 *
 * Plain JavaScript, no framework, from this origin (the pages' CSP).
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var conversationsUrl = script && script.getAttribute("data-conversations");
  var threadUrl = script && script.getAttribute("data-thread");  // the thread of user 0: its id replaced
  var STORED = "relay.desktop-notifications";
  var PREVIEW_CHARS = 100;
  var supported = "Notification" in window && !!window.fetch && !!conversationsUrl;

  function stored() {
    try {
      return window.localStorage.getItem(STORED) === "on";
    } catch (error) {
      return false;  // storage refused (a private window's settings): off
    }
  }

  function store(on) {
    try {
      window.localStorage.setItem(STORED, on ? "on" : "off");
    } catch (error) {
      /* kept for this page only */
    }
  }

  function enabled() {
    return supported && Notification.permission === "granted" && stored();
  }

  // The settings page's control: says where things stand and turns them on (asking the browser) or off.
  function setUpControl() {
    var section = document.querySelector("[data-desktop-notifications]");
    if (!section) {
      return;
    }
    var button = section.querySelector("button");
    var state = section.querySelector("[data-desktop-notifications-state]");

    function show() {
      if (!supported) {
        state.textContent = "This browser cannot show notifications.";
        button.hidden = true;
      } else if (Notification.permission === "denied") {
        state.textContent = "This browser blocks notifications from Relay: allow them in its site settings.";
        button.hidden = true;
      } else if (enabled()) {
        state.textContent = "On in this browser: a new message shows a notification while Relay's tab is hidden.";
        button.textContent = "Turn off desktop notifications";
        button.hidden = false;
      } else {
        state.textContent = "Off in this browser.";
        button.textContent = "Turn on desktop notifications";
        button.hidden = false;
      }
    }

    button.addEventListener("click", function () {
      if (enabled()) {
        store(false);
        show();
        return;
      }
      // The browser asks the reader once; a click is the gesture it needs to ask at all.
      Promise.resolve(Notification.requestPermission()).then(function (permission) {
        store(permission === "granted");
        show();
      });
    });
    section.hidden = false;
    show();
  }

  function preview(message) {
    var text = (message.body || "").replace(/\s+/g, " ").trim();
    if (text.length > PREVIEW_CHARS) {
      text = text.slice(0, PREVIEW_CHARS - 1).trim() + "\u2026";
    }
    if (!text && message.attachment) {
      text = "Sent a file: " + message.attachment.name;
    }
    return text;
  }

  function conversationWith(userId) {
    return fetch(conversationsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (page) {
        return (page.results || []).filter(function (row) {
          return row.participant.id === userId;
        })[0];
      });
  }

  function notify(message) {
    var sender = message.sender;
    var url = threadUrl.replace(/\/0\/$/, "/" + sender.id + "/") + "?anchor=" + message.id + "#message-" + message.id;
    var notification = new Notification(sender.display_name, {
      body: preview(message),
      tag: "relay-message-" + message.id,
    });
    notification.onclick = function () {
      window.focus();
      window.location.assign(url);
      notification.close();
    };
  }

  document.addEventListener("relay:live", function (event) {
    var message = event.detail.data;
    if (event.detail.type !== "message.created" || document.visibilityState !== "hidden" || !enabled()) {
      return;
    }
    conversationWith(message.sender.id)
      .then(function (conversation) {
        if (conversation && !conversation.muted && document.visibilityState === "hidden") {
          notify(message);
        }
      })
      .catch(function () {
        /* no notification rather than a wrong one */
      });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpControl);
  } else {
    setUpControl();
  }
})();
