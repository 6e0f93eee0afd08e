/* The thread page: it opens at the newest message (or at the message it was asked for, highlighted), loads
 * older and newer messages in place without moving what the reader is looking at, jumps to the first unread
 * message, and keeps the composer's errors in view.
 *
 * Without JavaScript the same links load pages around a message and their URL fragment (#message-<id>)
 * scrolls to it; this only spares the reloads. The messages are rendered by the page's template only: a
 * page is fetched and its messages moved in. Plain JavaScript, loaded from this origin (the CSP's 'self').
 */
(function () {
  "use strict";

  // The server's bounds (messaging/web/views.py), on the thread's region: the anchored read's most messages on
  // each side (`num_before`, `num_after`), and the arrivals a live refresh at the newest has room for.
  var bounds = document.getElementById("live-thread");
  var MAX_LIVE_WIDTH = Number(bounds && bounds.getAttribute("data-live-max")) || 100;
  var LIVE_ROOM = Number(bounds && bounds.getAttribute("data-live-room")) || 40;

  function region() {
    return document.getElementById("live-thread");
  }

  function scrollToNewest() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  // A fragment the browser scrolls to by itself; else the message asked for, highlighted; else the newest.
  // A refused send: the composer (pinned at the bottom) holds its error; its field gets the focus.
  function openInPlace() {
    var thread = region();
    if (!thread) {
      return;
    }
    var error = document.querySelector("#reply .errorlist, #reply .form-errors");
    if (error) {
      scrollToNewest();
      var field = document.querySelector("#reply textarea");
      if (field) {
        field.focus({ preventScroll: true });
      }
      return;
    }
    var hash = window.location.hash.slice(1);
    if (hash && document.getElementById(hash)) {
      return;
    }
    var focus = thread.getAttribute("data-focus");
    var target = focus && document.getElementById("message-" + focus);
    if (target) {
      target.classList.add("is-anchor");
      target.scrollIntoView({ block: "start" });
    } else {
      scrollToNewest();
    }
  }

  // What a live refresh fetches: what the page shows and, at the newest, what arrives after it, up to
  // MAX_LIVE_WIDTH after the first shown (past that, the newest and as many before them). The server writes
  // the same for a fresh page (`_live_url` in messaging/web/views.py).
  function coverShown(thread) {
    var shown = thread.querySelectorAll("ol.thread > li[data-message-id]");
    var url = new URL(thread.getAttribute("data-live-url"), window.location.href);
    var query;
    if (!shown.length) {
      query = { anchor: "newest" };
    } else if (thread.querySelector('[data-more="newer"]')) {
      var width = Math.min(shown.length - 1, MAX_LIVE_WIDTH);
      query = { anchor: shown[0].getAttribute("data-message-id"), num_before: 0, num_after: width };
    } else if (shown.length - 1 + LIVE_ROOM <= MAX_LIVE_WIDTH) {
      query = { anchor: shown[0].getAttribute("data-message-id"), num_before: 0, num_after: MAX_LIVE_WIDTH };
    } else {
      query = { anchor: "newest", num_before: MAX_LIVE_WIDTH };
    }
    url.search = new URLSearchParams(query).toString();
    thread.setAttribute("data-live-url", url.pathname + url.search);
  }

  var loading = false;

  // "Load older" and "Load newer": the page the link names is fetched and the messages it adds are moved in;
  // older ones above, keeping the message the reader sees where it is on the screen.
  function loadMore(link, side) {
    if (loading) {
      return;
    }
    loading = true;
    link.setAttribute("aria-busy", "true");
    fetch(link.href.split("#")[0], { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-thread");
        var thread = region();
        var list = thread && thread.querySelector("ol.thread");
        if (!fresh || !list) {
          throw new Error("not a thread page");
        }
        var added = Array.prototype.filter.call(fresh.querySelectorAll("ol.thread > li"), function (item) {
          return !(item.id && document.getElementById(item.id));
        });
        if (side === "older") {
          // What stays in place is the first message shown (the list may start with its day's separator,
          // which goes when the older page brings that day's separator of its own).
          var first = list.firstElementChild;
          var kept = list.querySelector("li[data-message-id]") || first;
          var keptTop = kept.getBoundingClientRect().top;
          added.forEach(function (item) {
            list.insertBefore(document.importNode(item, true), first);
          });
          dropRepeatedDays(list);
          window.scrollBy(0, kept.getBoundingClientRect().top - keptTop);
        } else {
          added.forEach(function (item) {
            list.appendChild(document.importNode(item, true));
          });
          dropRepeatedDays(list);
        }
        var control = thread.querySelector('[data-more="' + side + '"]');
        var next = fresh.querySelector('[data-more="' + side + '"]');
        if (next) {
          control.replaceWith(document.importNode(next, true));
        } else {
          control.remove();
        }
        coverShown(thread);
        showJump();
      })
      .catch(function () {
        window.location.assign(link.href); // the page itself, as without JavaScript
      })
      .finally(function () {
        loading = false;
        link.removeAttribute("aria-busy");
      });
  }

  // Each page starts its first day with a separator: where two pages meet, a day's second separator goes.
  function dropRepeatedDays(list) {
    var seen = {};
    list.querySelectorAll("li.day-separator[data-day]").forEach(function (separator) {
      var day = separator.getAttribute("data-day");
      if (seen[day]) {
        separator.remove();
      }
      seen[day] = true;
    });
  }

  // "Jump to first unread" shows while the "New messages" line is off the screen; on this page it scrolls.
  function showJump() {
    var jump = document.querySelector("[data-jump-unread]");
    if (!jump) {
      return;
    }
    var line = document.getElementById("first-unread");
    var seen = false;
    if (line) {
      var box = line.getBoundingClientRect();
      seen = box.bottom > 0 && box.top < window.innerHeight;
    }
    jump.hidden = seen;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var more = link.closest("[data-more]");
    if (more && link.getAttribute("rel")) {
      event.preventDefault();
      loadMore(link, more.getAttribute("data-more"));
      return;
    }
    if (link.closest("[data-jump-unread]")) {
      var line = document.getElementById("first-unread");
      if (line) {
        event.preventDefault();
        line.scrollIntoView({ block: "start" });
      }
    }
  });

  var pending = false;
  function onScroll() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        showJump();
      });
    }
  }
  window.addEventListener("scroll", onScroll, { passive: true });
  window.addEventListener("resize", onScroll);

  // Where the reader stopped is where they stopped when the page opened: a live refresh (live.js swaps the
  // region for a fresh one) renders the thread as read by then, and the line and the jump are put back.
  var openedLine = document.getElementById("first-unread");
  var openedJump = document.querySelector("[data-jump-unread]");
  var lineBefore = openedLine && openedLine.nextElementSibling && openedLine.nextElementSibling.id;

  function keepWhereTheReaderStopped() {
    var thread = region();
    if (!thread || !openedLine || document.getElementById("first-unread")) {
      return;
    }
    var message = lineBefore && document.getElementById(lineBefore);
    if (message) {
      message.parentNode.insertBefore(openedLine.cloneNode(true), message);
      if (openedJump && !thread.querySelector("[data-jump-unread]")) {
        thread.insertBefore(openedJump.cloneNode(true), thread.firstChild);
      }
    }
  }

  var main = document.getElementById("main");
  if (main && window.MutationObserver) {
    new MutationObserver(function () {
      keepWhereTheReaderStopped();
      onScroll();
    }).observe(main, { childList: true });
  }

  // The composer grows (an error at a field, a file picked, a longer draft): a reader at the bottom stays
  // there, the newest message above it, instead of under the grown composer.
  var composer = document.getElementById("reply");
  if (composer && window.ResizeObserver) {
    var composerHeight = composer.offsetHeight;
    new ResizeObserver(function () {
      var grew = composer.offsetHeight - composerHeight;
      composerHeight = composer.offsetHeight;
      var root = document.documentElement;
      if (grew > 0 && root.scrollHeight - window.scrollY - window.innerHeight <= grew + 4) {
        scrollToNewest();
      }
    }).observe(composer);
  }

  openInPlace();
  showJump();
})();
