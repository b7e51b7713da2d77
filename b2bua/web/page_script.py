"""The script of the admin page (plain JavaScript, no build step), inlined by ``page.py``.

It talks only to the JSON API of this service with the token kept in ``localStorage``, and
builds every element with ``textContent`` (never HTML from data).
"""

SCRIPT = r"""
"use strict";
const TOKEN_KEY = "b2bua.apiToken";
const $ = (id) => document.getElementById(id);
const state = { catalogue: null, settings: null, groups: [] };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && name !== "list") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.problems = (body && body.problems) || [];
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ""}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    signOut("The token was refused: enter it again.");
    throw new ApiError(401, { error: "the API token was refused" });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function say(id, text, failed = false) {
  const node = $(id);
  node.textContent = text;
  node.classList.toggle("error", failed);
}

function when(seconds) {
  return seconds == null ? "" : new Date(seconds * 1000).toLocaleString();
}

function guarded(statusId, action) {
  return async (event) => {
    if (event) event.preventDefault();
    try { await action(); } catch (error) { say(statusId, error.message, true); }
  };
}

/* ---------------------------------------------------------------- sign in */

function signOut(message = "") {
  localStorage.removeItem(TOKEN_KEY);
  $("main").hidden = true;
  $("signout").hidden = true;
  $("login").hidden = false;
  say("login-status", message, Boolean(message));
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  $("token-input").value = "";
  await start();
}

async function start() {
  try {
    [state.catalogue, state.settings] = await Promise.all([
      api("GET", "/api/key-options"), api("GET", "/api/settings"),
    ]);
  } catch (error) {
    if (error.status !== 401) say("login-status", error.message, true);
    return;
  }
  $("login").hidden = true;
  $("main").hidden = false;
  $("signout").hidden = false;
  renderKeys(state.settings.keys);
  renderTransfer(state.settings.transfer);
  await Promise.all([loadGroups(), loadCalls(), loadLive(), loadBlacklist()]);
}

/* ---------------------------------------------------------------- key editor */

function paramInput(field, value) {
  const common = { name: field.name, required: field.required, "aria-label": field.name };
  if (field.name === "scenario") {
    const names = Object.keys(state.settings.scenarios || {});
    if (value && !names.includes(value)) names.push(value);
    return el("select", common,
      names.map((name) => el("option", { value: name, selected: name === value }, name)));
  }
  const props = { ...common, type: "text", value: value ?? "" };
  if (field.name === "group") props.list = "group-names";
  if (field.name === "text") {
    props.placeholder = (state.settings.sms && state.settings.sms.card_text) || "";
  }
  return el("input", props);
}

function renderParams(cell, optionName, values) {
  cell.replaceChildren();
  const option = state.catalogue.options[optionName];
  if (!option) return;
  for (const field of option.fields) {
    cell.append(el("label", {}, `${field.name} `, paramInput(field, values[field.name])));
  }
  cell.title = option.help;
}

function keyRow(key, current) {
  const options = state.catalogue.options;
  const select = el("select", { class: "option", "aria-label": `Option of key ${key}` },
    el("option", { value: "" }, "— none (the key reaches the client) —"),
    Object.entries(options).map(([name, option]) =>
      el("option", { value: name, selected: current && current.option === name }, option.title)));
  const params = el("td", { class: "params" });
  const feedback = el("input", {
    type: "checkbox", class: "feedback", "aria-label": `Feedback of key ${key}`,
    checked: current ? current.feedback !== false : true,
  });
  const draw = () => renderParams(params, select.value,
    current && current.option === select.value ? current : {});
  select.addEventListener("change", draw);
  draw();
  const row = el("tr", {}, el("th", {}, key), el("td", {}, select), params,
    el("td", {}, feedback), el("td", { class: "error problem" }));
  row.dataset.key = key;
  return row;
}

function renderKeys(keys) {
  const body = $("keys-body");
  body.replaceChildren(...state.catalogue.keys.map((key) => keyRow(key, keys[key])));
  body.append(el("tr", { class: "fixed" }, el("th", {}, state.catalogue.transfer_key),
    el("td", { colSpan: 4 }, "Transfer: # then an extension (see the transfer settings)")));
}

function collectKeys() {
  const keys = {};
  for (const row of $("keys-body").rows) {
    const key = row.dataset.key;
    const option = key && row.querySelector("select.option").value;
    if (!option) continue;
    const entry = { option };
    for (const input of row.querySelectorAll(".params [name]")) {
      const value = input.value.trim();
      if (value !== "") entry[input.name] = value;
    }
    entry.feedback = row.querySelector("input.feedback").checked;
    keys[key] = entry;
  }
  return keys;
}

function clearProblems(container) {
  for (const node of container.querySelectorAll(".problem")) node.textContent = "";
}

function placeProblems(error, section, findSlot, statusId) {
  let placed = 0;
  for (const problem of error.problems) {
    const [first, ...rest] = problem.location;
    const slot = first === section ? findSlot(rest) : null;
    if (slot) {
      slot.textContent = [slot.textContent, problem.problem].filter(Boolean).join("; ");
      placed += 1;
    }
  }
  say(statusId, placed ? "Not saved: see the messages next to the fields." : error.message, true);
}

async function saveKeys() {
  clearProblems($("keys-table"));
  say("keys-status", "Saving…");
  try {
    state.settings.keys = await api("PUT", "/api/keys", collectKeys());
  } catch (error) {
    const rows = [...$("keys-body").rows];
    placeProblems(error, "keys", ([key]) => {
      const row = rows.find((candidate) => candidate.dataset.key === key);
      return row ? row.querySelector(".problem") : null;
    }, "keys-status");
    return;
  }
  renderKeys(state.settings.keys);
  say("keys-status", "Saved: the new key options apply to calls from now on.");
}

/* ---------------------------------------------------------------- transfer */

const TRANSFER_FIELDS = ["mode", "answer_timeout", "return_on_no_answer", "digit_timeout",
  "hold_music"];

function renderTransfer(transfer) {
  const form = $("transfer-form");
  for (const name of TRANSFER_FIELDS) {
    const input = form.elements[name];
    if (input.type === "checkbox") input.checked = Boolean(transfer[name]);
    else input.value = transfer[name] ?? "";
  }
}

function collectTransfer() {
  const form = $("transfer-form");
  const value = {};
  for (const name of TRANSFER_FIELDS) {
    const input = form.elements[name];
    if (input.type === "checkbox") value[name] = input.checked;
    else if (input.type === "number") value[name] = input.value === "" ? "" : Number(input.value);
    else value[name] = input.value.trim();
  }
  return value;
}

async function saveTransfer() {
  const form = $("transfer-form");
  clearProblems(form);
  say("transfer-status", "Saving…");
  try {
    state.settings.transfer = await api("PUT", "/api/settings/transfer", collectTransfer());
  } catch (error) {
    placeProblems(error, "transfer",
      ([name]) => form.querySelector(`.problem[data-for="${CSS.escape(name || "")}"]`),
      "transfer-status");
    return;
  }
  renderTransfer(state.settings.transfer);
  say("transfer-status", "Saved.");
}

/* ---------------------------------------------------------------- calls */

async function playRecording(recording, cell) {
  const response = await fetch(recording.url, {
    headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ""}` },
  });
  if (!response.ok) throw new Error(`recording ${recording.id}: HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  cell.replaceChildren(el("audio", { controls: true, src: url }),
    el("a", { href: url, download: recording.file || `recording-${recording.id}.wav` }, "save"));
}

function tagCell(call) {
  const chips = call.tags.map((tag) => el("span", { class: "chip" }, tag,
    el("button", {
      type: "button", title: `Remove tag ${tag}`, "aria-label": `Remove tag ${tag}`,
      onclick: guarded("calls-status", async () => {
        await api("DELETE",
          `/api/calls/${encodeURIComponent(call.id)}/tags/${encodeURIComponent(tag)}`);
        await loadCalls();
      }),
    }, "\u00d7")));
  const input = el("input", { type: "text", placeholder: "+ tag", size: 8, list: "tag-names",
    "aria-label": "New tag" });
  const form = el("form", {
    class: "inline",
    onsubmit: guarded("calls-status", async () => {
      if (!input.value.trim()) return;
      await api("POST", `/api/calls/${encodeURIComponent(call.id)}/tags`, { tag: input.value });
      await loadCalls();
    }),
  }, input);
  return el("td", {}, chips, form);
}

function recordingCell(call) {
  const cell = el("td");
  for (const recording of call.recordings) {
    cell.append(el("button", {
      type: "button",
      onclick: guarded("calls-status", () => playRecording(recording, cell)),
    }, `▶ ${recording.channels === 2 ? "stereo" : "mono"} #${recording.id}`));
  }
  return cell;
}

function callRow(call) {
  const duration = call.duration == null ? "" : `${Math.round(call.duration)} s`;
  return el("tr", {},
    el("td", {}, when(call.started_at)), el("td", {}, call.direction),
    el("td", {}, [call.caller_name, call.caller_number].filter(Boolean).join(" ")),
    el("td", {}, call.called_number), el("td", {}, call.employee || ""),
    el("td", {}, call.disposition || "in progress"), el("td", {}, duration),
    tagCell(call), el("td", {}, call.options_used.join(", ")), recordingCell(call));
}

async function loadCalls() {
  const form = $("calls-filter");
  const query = new URLSearchParams();
  for (const name of ["tag", "employee", "number"]) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  query.set("limit", "200");
  const data = await api("GET", `/api/calls?${query}`);
  $("calls-body").replaceChildren(...data.calls.map(callRow));
  const tags = new Set(data.calls.flatMap((call) => call.tags));
  for (const option of Object.values(state.settings.keys)) {
    if (option.option === "tag") tags.add(option.tag);
  }
  $("tag-names").replaceChildren(...[...tags].sort().map((tag) => el("option", { value: tag })));
  say("calls-status", data.calls.length ? "" : "No calls match.");
}

/* ---------------------------------------------------------------- live calls */

function keyButtons(call) {
  const keys = state.catalogue.keys.filter((key) => key in state.settings.keys);
  return keys.map((key) => [key, state.settings.keys[key]]).map(([key, option]) => el("button", {
    type: "button", title: state.catalogue.options[option.option].title,
    onclick: guarded("live-status", async () => {
      const done = await api("POST",
        `/api/live-calls/${encodeURIComponent(call.id)}/keys/${encodeURIComponent(key)}`);
      say("live-status", `${key}: ${JSON.stringify(done.result)}`);
      await loadLive();
    }),
  }, `${key} ${state.catalogue.options[option.option].title}`));
}

async function loadLive() {
  const data = await api("GET", "/api/live-calls");
  $("live-body").replaceChildren(...data.calls.map((call) => el("tr", {},
    el("td", {}, when(call.started)), el("td", {}, call.state || ""),
    el("td", {}, call.client || call.client_number || ""), el("td", {}, call.employee || ""),
    el("td", { class: "buttons" }, keyButtons(call)))));
  $("live-empty").hidden = data.calls.length > 0;
}

/* ---------------------------------------------------------------- blacklist */

async function loadBlacklist() {
  const data = await api("GET", "/api/blacklist");
  $("blacklist-body").replaceChildren(...data.blacklist.map((entry) => el("tr", {},
    el("td", {}, entry.number), el("td", {}, entry.reason), el("td", {}, when(entry.added_at)),
    el("td", {}, el("button", {
      type: "button",
      onclick: guarded("blacklist-status", async () => {
        await api("DELETE", `/api/blacklist/${encodeURIComponent(entry.number)}`);
        await loadBlacklist();
      }),
    }, "Remove")))));
}

async function addToBlacklist() {
  const form = $("blacklist-form");
  await api("POST", "/api/blacklist",
    { number: form.elements.number.value, reason: form.elements.reason.value });
  form.reset();
  say("blacklist-status", "");
  await loadBlacklist();
}

/* ---------------------------------------------------------------- contact groups */

async function loadGroups() {
  const data = await api("GET", "/api/contact-groups");
  state.groups = data.groups;
  $("group-names").replaceChildren(...data.groups.map((g) => el("option", { value: g.name })));
  $("groups-body").replaceChildren(...data.groups.map((group) => el("tr", {},
    el("td", {}, el("button", { type: "button", class: "link",
      onclick: guarded("contacts-status", () => showGroup(group.name)) }, group.name)),
    el("td", {}, String(group.size)), el("td", {}, group.used_by_keys ? "yes" : ""))));
}

async function showGroup(name) {
  const data = await api("GET", `/api/contact-groups/${encodeURIComponent(name)}/contacts`);
  $("contact-form").elements.group.value = name;
  $("contacts-title").textContent = `Contacts in ${name}`;
  $("contacts-body").replaceChildren(...data.contacts.map((contact) => el("tr", {},
    el("td", {}, contact.number), el("td", {}, contact.display_name),
    el("td", {}, contact.saved_by || ""), el("td", {}, when(contact.saved_at)),
    el("td", {}, el("button", {
      type: "button",
      onclick: guarded("contacts-status", async () => {
        await api("DELETE", `/api/contact-groups/${encodeURIComponent(name)}/contacts/` +
          encodeURIComponent(contact.number));
        await Promise.all([showGroup(name), loadGroups()]);
      }),
    }, "Remove")))));
}

async function addContact() {
  const form = $("contact-form");
  const group = form.elements.group.value.trim();
  if (!group) throw new Error("Choose or type a group name.");
  await api("POST", `/api/contact-groups/${encodeURIComponent(group)}/contacts`,
    { number: form.elements.number.value, display_name: form.elements.display_name.value });
  form.elements.number.value = "";
  form.elements.display_name.value = "";
  say("contacts-status", "");
  await Promise.all([showGroup(group), loadGroups()]);
}

/* ---------------------------------------------------------------- wiring */

$("login-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", () => signOut());
$("keys-save").addEventListener("click", guarded("keys-status", saveKeys));
$("transfer-save").addEventListener("click", guarded("transfer-status", saveTransfer));
$("calls-filter").addEventListener("submit", guarded("calls-status", loadCalls));
$("live-refresh").addEventListener("click", guarded("live-status", loadLive));
$("blacklist-form").addEventListener("submit", guarded("blacklist-status", addToBlacklist));
$("contact-form").addEventListener("submit", guarded("contacts-status", addContact));
setInterval(() => {
  if (!document.hidden && !$("main").hidden) loadLive().catch(() => {});
}, 5000);
if (localStorage.getItem(TOKEN_KEY)) start(); else signOut();
"""
