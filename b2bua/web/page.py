"""The admin page: one HTML document with its style and script inline, kept in this module so
that any installation of the package serves it (no data files, no build step, no CDN).

The page is served with a Content-Security-Policy that allows exactly its own inline style and
script (by their SHA-256 hashes), API calls to this origin, and recordings played from blobs.
"""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from b2bua.web.page_script import SCRIPT

STYLE = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d8dee5; --accent: #1f6feb;
        --bad: #b42318; --soft: #f5f7fa; font-family: system-ui, sans-serif; color: var(--ink); }
body { margin: 0; background: #fff; }
header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1.2rem;
         border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
header nav a { margin-right: .8rem; color: var(--accent); text-decoration: none; }
main, #login { max-width: 72rem; margin: 0 auto; padding: 0 1.2rem 3rem; }
section { margin-top: 1.8rem; }
h2 { font-size: 1.05rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
h3 { font-size: .95rem; }
p.intro { color: var(--muted); max-width: 48rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; }
tr.fixed td { color: var(--muted); }
td.params label { display: inline-block; margin-right: .6rem; }
input[type=text], input[type=number], input[type=password], select { padding: .2rem .3rem; }
button { cursor: pointer; padding: .25rem .6rem; }
button.link { border: none; background: none; color: var(--accent); padding: 0; }
.chip { display: inline-block; background: var(--soft); border: 1px solid var(--line);
        border-radius: 1rem; padding: 0 .2rem 0 .5rem; margin: 0 .2rem .2rem 0; }
.chip button { border: none; background: none; padding: 0 .3rem; }
form.inline { display: inline; }
form.row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .6rem 0; }
form.grid { display: grid; grid-template-columns: max-content 16rem 1fr; gap: .4rem .8rem;
            align-items: center; }
.status { margin-left: .6rem; color: var(--muted); }
.error { color: var(--bad); }
td.buttons button { margin: 0 .2rem .2rem 0; }
audio { height: 2rem; vertical-align: middle; }
"""

BODY = """
<header>
  <h1>Office phone system</h1>
  <nav><a href="#options">In-call options</a><a href="#transfer">Transfer</a>
    <a href="#live">Live calls</a><a href="#calls">Calls</a><a href="#blacklist">Blacklist</a>
    <a href="#contacts">Contact groups</a></nav>
  <button id="signout" type="button" hidden>Forget token</button>
</header>
<div id="login" hidden>
  <section>
    <h2>Sign in</h2>
    <form id="login-form" class="row">
      <label>API token <input id="token-input" type="password" autocomplete="off" size="40"></label>
      <button type="submit">Sign in</button>
    </form>
    <p class="intro">The token is printed by <code>b2bua serve</code> at its first start and kept
      in <code>DATA_DIR/api-token</code> (or set as <code>web.api_token</code>). This browser
      keeps it until you press “Forget token”.</p>
    <p id="login-status" class="status"></p>
  </section>
</div>
<main id="main" hidden>
  <datalist id="group-names"></datalist><datalist id="tag-names"></datalist>
  <section id="options">
    <h2>In-call options</h2>
    <p class="intro">During a call an employee can use the office phone system: call in their
      trainer, transfer the call to a colleague or tag it. They just press a key on their phone
      or a button in the app. Choose here which option each key starts.</p>
    <table id="keys-table">
      <thead><tr><th>Key</th><th>Option</th><th>Parameters</th><th>Feedback</th><th></th></tr>
      </thead>
      <tbody id="keys-body"></tbody>
    </table>
    <p><button id="keys-save" type="button">Save options</button>
      <span id="keys-status" class="status"></span></p>
  </section>
  <section id="transfer">
    <h2>Transfer</h2>
    <form id="transfer-form" class="grid">
      <label for="t-mode">Mode</label>
      <select id="t-mode" name="mode"><option value="blind">blind</option>
        <option value="consult">with consultation</option></select>
      <span class="error problem" data-for="mode"></span>
      <label for="t-answer">Answer timeout, s</label>
      <input id="t-answer" name="answer_timeout" type="number" step="any" min="0">
      <span class="error problem" data-for="answer_timeout"></span>
      <label for="t-return">Return to the employee on no answer</label>
      <input id="t-return" name="return_on_no_answer" type="checkbox">
      <span class="error problem" data-for="return_on_no_answer"></span>
      <label for="t-digit">Pause ending the number, s</label>
      <input id="t-digit" name="digit_timeout" type="number" step="any" min="0">
      <span class="error problem" data-for="digit_timeout"></span>
      <label for="t-music">The client hears</label>
      <input id="t-music" name="hold_music" type="text" placeholder="builtin:music">
      <span class="error problem" data-for="hold_music"></span>
    </form>
    <p><button id="transfer-save" type="button">Save transfer settings</button>
      <span id="transfer-status" class="status"></span></p>
  </section>
  <section id="live">
    <h2>Calls in progress</h2>
    <table><thead><tr><th>Started</th><th>State</th><th>Client</th><th>Employee</th>
      <th>Options (as the employee's keys)</th></tr></thead><tbody id="live-body"></tbody></table>
    <p><span id="live-empty" class="status">No call in progress.</span>
      <button id="live-refresh" type="button">Refresh</button>
      <span id="live-status" class="status"></span></p>
  </section>
  <section id="calls">
    <h2>Calls</h2>
    <form id="calls-filter" class="row">
      <label>Tag <input name="tag" type="text" list="tag-names" size="12"></label>
      <label>Employee <input name="employee" type="text" size="6"></label>
      <label>Number <input name="number" type="text" size="14"></label>
      <button type="submit">Show</button><span id="calls-status" class="status"></span>
    </form>
    <table><thead><tr><th>Started</th><th>Direction</th><th>From</th><th>To</th>
      <th>Employee</th><th>Result</th><th>Duration</th><th>Tags</th><th>Options used</th>
      <th>Recordings</th></tr></thead><tbody id="calls-body"></tbody></table>
  </section>
  <section id="blacklist">
    <h2>Blacklist</h2>
    <form id="blacklist-form" class="row">
      <label>Number <input name="number" type="text" required size="16"></label>
      <label>Reason <input name="reason" type="text" size="30"></label>
      <button type="submit">Add</button><span id="blacklist-status" class="status"></span>
    </form>
    <table><thead><tr><th>Number</th><th>Reason</th><th>Added</th><th></th></tr></thead>
      <tbody id="blacklist-body"></tbody></table>
  </section>
  <section id="contacts">
    <h2>Contact groups</h2>
    <table><thead><tr><th>Group</th><th>Contacts</th><th>Used by a key</th></tr></thead>
      <tbody id="groups-body"></tbody></table>
    <h3 id="contacts-title">Contacts</h3>
    <form id="contact-form" class="row">
      <label>Group <input name="group" type="text" list="group-names" size="12"></label>
      <label>Number <input name="number" type="text" required size="16"></label>
      <label>Name <input name="display_name" type="text" size="20"></label>
      <button type="submit">Save contact</button><span id="contacts-status" class="status"></span>
    </form>
    <table><thead><tr><th>Number</th><th>Name</th><th>Saved by</th><th>Saved</th><th></th></tr>
      </thead><tbody id="contacts-body"></tbody></table>
  </section>
</main>
"""


def _hash_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


PAGE_HTML = (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>Office phone system: admin</title>\n"
    f"<style>{STYLE}</style>\n</head>\n<body>{BODY}<script>{SCRIPT}</script>\n</body>\n</html>\n"
)

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    f"script-src {_hash_source(SCRIPT)}",
    f"style-src {_hash_source(STYLE)}",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page_response() -> web.Response:
    """The admin page with its security headers."""
    return web.Response(
        text=PAGE_HTML, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )
