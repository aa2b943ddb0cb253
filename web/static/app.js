// Gibsey reader: makes the server-rendered page live. Without this file every action is a
// plain form post and a redirect back. With it, forms post with fetch, new pages arrive over
// Server-Sent Events and are inserted from server-rendered fragments (parsed with DOMParser,
// never innerHTML); text from the reader goes in with textContent only.
(function () {
  'use strict';
  var reader = document.getElementById('reader');
  if (!reader || !window.fetch || !window.EventSource) return;
  var sid = reader.getAttribute('data-session');
  var status = document.getElementById('live-status');
  var queue = Promise.resolve();

  function say(msg) { if (status) status.textContent = msg; }
  function q(sel, root) { return (root || document).querySelector(sel); }
  function qa(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function hidden(form, name, value) {
    var i = q('input[type=hidden][name="' + name + '"]', form);
    if (!i) { i = el('input'); i.type = 'hidden'; i.name = name; form.prepend(i); }
    i.value = value;
  }
  function showError(form, body) {
    var msg = (body && body.error) || 'Something went wrong; please try again.';
    if (body && body.field) msg = body.field + ': ' + msg;
    var box = q('[data-error]', form);
    if (box) box.textContent = msg; else say(msg);
  }
  function now() {
    var d = new Date();
    return d.toISOString().slice(11, 19) + ' UTC';
  }

  // ---- forms ----
  // Posts go one after the other, so the server gets the reader's actions in the order
  // they were made (a quick spin of the dial must end on the last orientation clicked).
  var posts = Promise.resolve();
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.matches || !form.matches('form[data-live]')) return;
    e.preventDefault();
    var fd = new FormData(form);
    var submitter = e.submitter;
    if (submitter && submitter.name) fd.set(submitter.name, submitter.value);
    var kind = form.getAttribute('data-live');
    var box = q('[data-error]', form);
    if (box) box.textContent = '';
    if (kind === 'orientation') showOrientation(fd.get('orientation'));
    posts = posts.then(function () {
      return fetch(form.getAttribute('action'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Accept': 'application/json' },
        body: new URLSearchParams(fd)
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) { showError(form, body); return; }
          accepted(kind, form, fd, body, submitter);
        });
      }).catch(function () { showError(form, { error: 'The server cannot be reached; please try again.' }); });
    });
  });

  function showOrientation(o) {
    qa('.dir').forEach(function (b) { b.setAttribute('aria-pressed', b.value === o ? 'true' : 'false'); });
    var compass = q('.compass');
    if (compass) compass.setAttribute('data-orientation', o);
    qa('[data-orientation-input]').forEach(function (i) { i.value = o; });
    reader.setAttribute('data-orientation', o);
  }

  function accepted(kind, form, fd, body, submitter) {
    if (kind === 'symbol') {
      qa('.cell[aria-pressed="true"]').forEach(function (c) { c.setAttribute('aria-pressed', 'false'); });
      if (submitter) submitter.setAttribute('aria-pressed', 'true');
      var sym = fd.get('symbol_id');
      var cur = q('#current');
      if (cur && submitter) cur.textContent = 'At ' + sym + ': ' + submitter.getAttribute('aria-label') + '.';
      var ask = q('form.ask');
      if (ask) hidden(ask, 'symbols', sym);
      var dial = q('form.dial');
      var m = /^S(\d+)-(.+)$/.exec(sym || '');
      if (dial && m) {
        var head = qa('.grid .colhead').filter(function (h) { return h.textContent === m[2]; })[0];
        if (head) {
          hidden(dial, 'section_id', m[1]);
          hidden(dial, 'character_id', head.getAttribute('data-id'));
        }
      }
      say('Writing a page for ' + sym + '…');
    } else if (kind === 'orientation') {
      say('Facing ' + fd.get('orientation') + '…');
    } else if (kind === 'ask') {
      var list = q('#asks');
      if (list) {
        var li = el('li');
        li.id = 'ask-' + body.event_id;
        li.setAttribute('data-ask-id', body.event_id);
        li.appendChild(el('q', null, fd.get('prompt')));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('time', null, now()));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('span', 'waiting', 'waiting for an answer…'));
        list.prepend(li);
      }
      var ta = q('textarea[name=prompt]', form);
      if (ta) ta.value = '';
      say('Question sent.');
    } else if (kind === 'vault') {
      var vault = q('#vault');
      var pid = fd.get('page_id');
      if (vault) {
        var item = el('li');
        item.setAttribute('data-page-id', pid);
        item.setAttribute('data-event-id', body.event_id);
        item.appendChild(el('time', null, now()));
        item.appendChild(document.createTextNode(' '));
        var title = q('#pt-' + CSS.escape(pid));
        var a = el('a', null, fd.get('label') || (title ? title.textContent : 'saved page'));
        a.href = '/pages/' + encodeURIComponent(pid);
        item.appendChild(a);
        if (fd.get('notes')) item.appendChild(el('p', 'notes', fd.get('notes')));
        vault.appendChild(item);
        var empty = q('#vault-empty');
        if (empty) empty.remove();
      }
      var det = q('details', form);
      if (det) det.open = false;
      qa('input[name=label], textarea[name=notes]', form).forEach(function (i) { i.value = ''; });
      say('Saved to the Vault.');
      refreshVault(body.event_id, 0);
    }
  }

  // Replace the optimistic Vault entry with the server's once it is stored.
  function refreshVault(eventID, tries) {
    if (tries > 20) return;
    setTimeout(function () {
      fetch('/fragments/vault?session_id=' + encodeURIComponent(sid), { credentials: 'same-origin' })
        .then(function (res) { return res.ok ? res.text() : ''; })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var box = q('#vault-box', doc);
          if (box && q('[data-event-id="' + CSS.escape(eventID) + '"]', box)) {
            q('#vault-box').replaceWith(document.importNode(box, true));
          } else {
            refreshVault(eventID, tries + 1);
          }
        }).catch(function () { refreshVault(eventID, tries + 1); });
    }, 400 + tries * 200);
  }

  // ---- live pages ----
  function insertPage(data) {
    var id = data && data.page_id;
    if (!id || document.getElementById('p-' + id)) return Promise.resolve();
    return fetch('/fragments/pages/' + encodeURIComponent(id) + '?session_id=' + encodeURIComponent(sid), { credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.text() : ''; })
      .then(function (html) {
        if (document.getElementById('p-' + id)) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var art = q('article.page', doc);
        var node = art ? document.importNode(art, true) : plainPage(data);
        var answerTo = node.getAttribute('data-answer-to');
        var list = q(answerTo ? '#answers' : '#pages');
        if (!list) return;
        list.prepend(node);
        var empty = q('#pages-empty');
        if (empty && !answerTo) empty.remove();
        if (answerTo) markAnswered(answerTo, id, data.title);
        say('New page: ' + (data.title || 'untitled'));
      });
  }

  // plainPage renders a page from the event's data with textContent, if the fragment failed.
  function plainPage(data) {
    var art = el('article', 'page');
    art.id = 'p-' + data.page_id;
    art.setAttribute('data-page-id', data.page_id);
    var h = el('h3');
    var a = el('a', null, data.title || 'Untitled page');
    a.href = '/pages/' + encodeURIComponent(data.page_id);
    h.appendChild(a);
    art.appendChild(h);
    var text = el('div', 'text');
    String(data.text || '').split(/\n\s*\n/).forEach(function (p) { if (p.trim()) text.appendChild(el('p', null, p.trim())); });
    art.appendChild(text);
    return art;
  }

  function markAnswered(askID, pageID, title) {
    var li = document.getElementById('ask-' + askID);
    if (!li) return;
    var w = q('.waiting', li);
    var a = el('a', 'answer', 'answer: ' + (title || 'the answer'));
    a.href = '/pages/' + encodeURIComponent(pageID);
    if (w) w.replaceWith(a); else li.appendChild(a);
  }

  var url = '/events/stream?session_id=' + encodeURIComponent(sid);
  var cursor = reader.getAttribute('data-cursor');
  if (cursor) url += '&last_event_id=' + encodeURIComponent(cursor);
  var es = new EventSource(url);
  es.addEventListener('open', function () { reader.setAttribute('data-live-state', 'open'); });
  es.addEventListener('error', function () { reader.setAttribute('data-live-state', 'reconnecting'); });
  es.addEventListener('page.done', function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (err) { return; }
    queue = queue.then(function () { return insertPage(data); }).catch(function () {});
  });

  // ---- keyboard: arrow keys move through the grid (one tab stop for the whole grid) ----
  var cells = qa('.grid .cell');
  if (cells.length) {
    var start = cells.filter(function (c) { return c.getAttribute('aria-pressed') === 'true'; })[0] || cells[0];
    cells.forEach(function (c) { c.tabIndex = c === start ? 0 : -1; });
    var cols = qa('.grid .colhead').length || 16;
    document.querySelector('.grid').addEventListener('keydown', function (e) {
      var i = cells.indexOf(e.target);
      if (i < 0) return;
      var j = i;
      switch (e.key) {
        case 'ArrowRight': j = Math.min(cells.length - 1, i + 1); break;
        case 'ArrowLeft': j = Math.max(0, i - 1); break;
        case 'ArrowDown': j = Math.min(cells.length - 1, i + cols); break;
        case 'ArrowUp': j = Math.max(0, i - cols); break;
        case 'Home': j = i - (i % cols); break;
        case 'End': j = i - (i % cols) + cols - 1; break;
        default: return;
      }
      e.preventDefault();
      cells[i].tabIndex = -1;
      cells[j].tabIndex = 0;
      cells[j].focus();
    });
  }
})();
