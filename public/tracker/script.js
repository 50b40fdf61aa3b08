// GET /script.js: <script defer src="https://ANALYTICS_HOST/script.js"></script>. No cookies, no
// storage written; page views on load and on pushState/popstate, events from data-analytics-event
// elements and window.analytics(name, category). Opt-out: localStorage 'analytics-opt-out' = 'true'.
// data-respect-dnt on the tag: nothing is sent with Global Privacy Control or Do Not Track.
(function () {
  'use strict';
  var w = window,
    d = document,
    n = navigator,
    l = location,
    tag = d.currentScript;
  if (!tag) return;
  var api = (tag.getAttribute('data-api') || new URL(tag.src).origin) + '/events/website';
  var entry = l.pathname;
  var referrer = d.referrer;
  var last;

  function off() {
    try {
      if (w.localStorage.getItem('analytics-opt-out') === 'true') return true;
    } catch {
      // storage blocked: no flag
    }
    return tag.hasAttribute('data-respect-dnt') && (n.globalPrivacyControl === true || n.doNotTrack === '1' || w.doNotTrack === '1');
  }

  function send(type, name, category, path) {
    if (off()) return;
    var body = JSON.stringify({
      type: type,
      eventName: name || null,
      eventCategory: category || null,
      path: path || l.pathname,
      entryPage: entry,
      referrer: referrer || 'direct',
    });
    // A string body is text/plain: a simple request, no CORS preflight.
    if (!(n.sendBeacon && n.sendBeacon(api, body))) {
      fetch(api, { method: 'POST', body: body, keepalive: true, mode: 'no-cors', credentials: 'omit' }).catch(function () {});
    }
  }

  // The page view's path keeps only the campaign parameters: the server reads and strips them.
  function pageview() {
    if (l.pathname === last) return;
    last = l.pathname;
    var q = new URLSearchParams(l.search),
      keep = new URLSearchParams();
    ['utm_source', 'utm_medium', 'utm_campaign'].forEach(function (k) {
      if (q.get(k)) keep.set(k, q.get(k));
    });
    send('pageview', null, null, l.pathname + (keep.toString() ? '?' + keep : ''));
  }

  var push = history.pushState;
  history.pushState = function () {
    var result = push.apply(this, arguments);
    pageview();
    return result;
  };
  w.addEventListener('popstate', pageview);

  d.addEventListener(
    'click',
    function (e) {
      var el = e.target instanceof Element && e.target.closest('[data-analytics-event]');
      if (el) send('event', el.getAttribute('data-analytics-event'), el.getAttribute('data-analytics-category'));
    },
    true,
  );

  w.analytics = function (name, category) {
    send('event', name, category);
  };

  pageview();
})();
