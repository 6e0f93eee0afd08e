/* Live pages: the caller's events (GET /api/messages/events, Server-Sent Events) applied to the open page.
 *
 * - unread_count: the nav badge and the tab title, "(3) Inbox · Relay", on every page (its badge_count:
 *   unread messages outside muted conversations);
 * - any change to what a live region shows (the inbox's list, the open thread): the region is fetched again
 *   from the server and swapped in, so the pages are rendered by their templates only, never a second time
 *   here (not while the reader edits a message in it, edit.js: once the form closes). Opening a thread marks
 *   it read; fetching it again does not (it says so: `X-Relay-Refresh`), since nobody may be looking (a tab
 *   in the background);
 * - unread messages in a refreshed thread are marked read only while the page is visible and focused, at once
 *   or as soon as it becomes so (the Page Visibility API, `document.hasFocus()`), through the API's
 *   `PUT mark-conversation-read` with the session and its CSRF token. "Mark as unread" leaves the page, and
 *   nothing is marked read again meanwhile.
 *
 * Plain JavaScript, no framework, loaded from this origin (the pages' CSP allows 'self' only). Every page
 * works without it: a reload shows the same.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var eventsUrl = script && script.getAttribute("data-events");
  if (!eventsUrl || !window.EventSource || !window.fetch) {
    return;
  }
  var baseTitle = document.title.replace(/^\(\d+\) /, "");

  function showUnread(count) {
    document.querySelectorAll("[data-live-unread]").forEach(function (badge) {
      badge.firstChild.nodeValue = String(count);
      badge.hidden = count === 0;
    });
    document.title = (count ? "(" + count + ") " : "") + baseTitle;
  }

  function announce(text) {
    var status = document.querySelector("[data-live-status]");
    if (status) {
      status.textContent = text;
    }
  }

  // One fetch at a time; events that arrive meanwhile ask for one more after it.
  var fetching = false;
  var again = false;
  // A refresh held while the reader edits a message in the region (edit.js): the fresh copy would replace
  // their form. It runs when the form closes (`relay:edit-closed`); a save leaves the page anyway.
  var held = false;

  function refresh() {
    var regions = document.querySelectorAll("[data-live-region]");
    if (!regions.length) {
      return;
    }
    if (document.querySelector("[data-live-region] form[data-edit-form]")) {
      held = true;
      return;
    }
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    // A region may name the page that renders it afresh (the thread: what it shows, from its anchor). The
    // header says it is a refresh, not a reader opening the page: it marks nothing read.
    var url = regions[0].getAttribute("data-live-url") || window.location.href;
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html", "X-Relay-Refresh": "1" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var root = document.documentElement;
        var fromBottom = root.scrollHeight - window.scrollY;
        regions.forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (next) {
            region.replaceWith(document.importNode(next, true));
            if (region.getAttribute("data-live-keep") === "bottom") {
              window.scrollTo(0, root.scrollHeight - fromBottom);  // what is below stays in view
            }
          }
        });
        var thread = document.querySelector("[data-live-mark-read]");
        unseen = thread !== null && thread.querySelector("[data-unread-message]") !== null;
        markSeen();
      })
      .catch(function () {
        /* the next event or a reload brings the page up to date */
      })
      .finally(function () {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  // Whether the thread shows messages nobody has seen yet: the refreshed region holds unread ones (the
  // first render's were marked read by the page's own GET).
  var unseen = false;
  var marking = false;
  var leaving = false;

  function seen() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function markSeen() {
    var thread = document.querySelector("[data-live-mark-read]");
    // A thread opened on older messages (a "Load newer" link below them) does not show what arrives: it stays
    // unread until the reader goes there.
    if (!unseen || marking || leaving || !thread || !seen() || document.querySelector('[data-more="newer"]')) {
      return;
    }
    marking = true;
    fetch(thread.getAttribute("data-live-mark-read"), {
      method: "PUT",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    })
      .then(function (response) {
        if (response.ok) {
          unseen = false;  // its `conversation.read` event clears the unread marks
        }
      })
      .catch(function () {
        /* the next refresh or focus tries again */
      })
      .finally(function () {
        marking = false;
      });
  }

  document.addEventListener("relay:edit-closed", function () {
    if (held) {
      held = false;
      refresh();
    }
  });

  document.addEventListener("visibilitychange", markSeen);
  window.addEventListener("focus", markSeen);
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-mark-unread")) {
      leaving = true;  // the reader put messages back to unread: the page must not read them again
    }
  });

  function partner() {
    var thread = document.querySelector("[data-live-partner]");
    return thread ? Number(thread.getAttribute("data-live-partner")) : null;
  }

  function shown(messageId) {
    return document.getElementById("message-" + messageId) !== null;
  }

  function onInbox() {
    return document.getElementById("live-inbox") !== null;
  }

  // A change to one message: the page shows it, or the inbox may (its excerpt, its badge).
  function refreshIfShown(data) {
    if (shown(data.id) || onInbox()) {
      refresh();
    }
  }

  // Whether a reply on the page quotes message `id` (its preview shows what that message says now).
  function quoted(id) {
    return document.querySelector('[data-reply-to="' + Number(id) + '"]') !== null;
  }

  // A change to a whole conversation (`user_id`: the other person): its thread or the inbox shows it.
  function refreshIfAboutPartner(data) {
    if (data.user_id === partner() || onInbox()) {
      refresh();
    }
  }

  // What each event changes on the open page.
  var handlers = {
    unread_count: function (data) {
      showUnread(data.badge_count);  // what the nav shows: unread outside muted conversations
    },
    "message.created": function (data) {
      var withPartner = partner() !== null && (data.sender.id === partner() || data.recipient.id === partner());
      if (withPartner || onInbox()) {
        refresh();
      }
      if (data.sender.id !== data.recipient.id && withPartner && data.sender.id === partner()) {
        announce("New message from " + data.sender.display_name);
      }
    },
    // Its sender edited it: the thread, a reply shown that quotes it (even where the message itself is not on
    // the page), or the inbox's excerpt shows it.
    "message.updated": function (data) {
      if (quoted(data.id)) {
        refresh();
        return;
      }
      refreshIfShown(data);
    },
    "message.read": refreshIfShown,
    // Deleted for the reader, or unsent by its sender (`for: "everyone"`): then a reply shown that quotes it
    // says so, even where the message itself is not on the page.
    "message.deleted": function (data) {
      if (data["for"] === "everyone" && quoted(data.id)) {
        refresh();
        return;
      }
      refreshIfShown(data);
    },
    "message.hidden": refreshIfShown,
    "message.unhidden": refreshIfAboutPartner,
    // The reader's own read (`marked_read`) changes nothing an open thread shows (its "New messages" line
    // stays where the reader stopped) but which of its messages are unread: only the inbox's badges. Opening
    // a thread reads it, and the thread would otherwise be fetched again at once for its own read. The other
    // person's read (a receipt) shows.
    "conversation.read": function (data) {
      if ("marked_read" in data && !onInbox()) {
        if (data.user_id === partner()) {
          document.querySelectorAll("[data-unread-message]").forEach(function (message) {
            message.removeAttribute("data-unread-message");
          });
        }
        return;
      }
      refreshIfAboutPartner(data);
    },
    "conversation.unread": refreshIfAboutPartner,
    "conversation.deleted": refreshIfAboutPartner,
    resync: function () {
      refresh();
    },
    // The server ended the stream. EventSource reconnects by itself and resumes: after a restart, and after
    // a credential change that left this session signed in (the reconnect carries the session's new key).
    // Only when a newer tab took this stream's place would a reconnect take that place back: stop there.
    "stream.ended": function (data) {
      if (data.reason === "too_many_streams") {
        source.close();
        announce("Live updates are paused in this tab (too many open tabs); reload to resume.");
      }
    },
  };

  var source = new EventSource(eventsUrl);
  Object.keys(handlers).forEach(function (type) {
    source.addEventListener(type, function (event) {
      var data = JSON.parse(event.data);
      handlers[type](data);
      // The page's other scripts hear the same events (notify.js: desktop notifications).
      document.dispatchEvent(new CustomEvent("relay:live", { detail: { type: type, data: data } }));
    });
  });
  // A reconnect refused for good (the session has ended: signed out, or the password changed elsewhere).
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      announce("Live updates have stopped; reload the page.");
    }
  });
  // Leaving the page closes the stream at once (a WSGI server holds a thread for each open one).
  window.addEventListener("pagehide", function () {
    source.close();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();  // back from the browser's page cache, with a closed stream: start afresh
    }
  });
})();
