/* The browser's time zone, told to the server: the pages show times in it (users/time_zones.py) unless the
 * reader chose a zone in Settings.
 *
 * Every page (the login page too, so the first page after logging in is already in the reader's zone) sets
 * the cookie `relay_tz` to `Intl.DateTimeFormat().resolvedOptions().timeZone` when it is missing or differs
 * (a laptop that travelled). Nothing is reloaded: the next page uses it. Without JavaScript, or before
 * this has run once, pages are in UTC or the zone set in Settings.
 */
(function () {
  "use strict";

  var COOKIE = "relay_tz";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names only ("America/Argentina/Salta", "Etc/GMT+5", "UTC"): anything else is not sent.
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
    return;
  }
  var current = document.cookie.split("; ").filter(function (pair) {
    return pair.indexOf(COOKIE + "=") === 0;
  })[0];
  if (current === COOKIE + "=" + zone) {
    return;
  }
  document.cookie = COOKIE + "=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
    (window.location.protocol === "https:" ? "; Secure" : "");
})();
