// seatgate admin page. Plain DOM, no framework, no build step.
// Everything shown is put into the page with textContent / setAttribute, never as HTML:
// usernames and rule texts come from users and must stay text.
"use strict";

const REFRESH_MS = 5000;
const AUDIT_COUNT = 300;
const SAFE_METHODS = new Set(["GET", "HEAD"]);

const state = { csrf: "", timer: null, rules: [], version: null, editing: null, products: [], measured: null };

// -- DOM helpers ---------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function fillBody(table, rows, columns, emptyText) {
  const body = table.tBodies[0];
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "empty" }, emptyText))]));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

// Times carry their zone: the browser's may differ from the server's and the admin's.
const clock = (epochSeconds) => new Date(epochSeconds * 1000).toLocaleTimeString(undefined, { timeZoneName: "short" });
const stamp = (epochSeconds) => new Date(epochSeconds * 1000).toLocaleString(undefined, { timeZoneName: "short" });
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

// -- API -----------------------------------------------------------------------------------
class ApiError extends Error {}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // The session cookie is SameSite=Strict and HttpOnly; state-changing calls also carry
  // the CSRF token, which only this page can read.
  if (!SAFE_METHODS.has(method)) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.status === 401 && !path.startsWith("/admin/")) {
    showLogin("Your session has ended: log in again.");
    throw new ApiError("not logged in");
  }
  if (!response.ok) throw new ApiError((data && (data.error || data.message)) || `HTTP ${response.status}`);
  return data;
}

// The rules endpoints of the admin API (grant_worker/admin_rules.py).
// Every edit takes dry_run: the answer is then only its blast radius, and nothing is saved.
const rulesApi = {
  list: () => api("GET", "/api/v1/rules"),
  add: (rule, before, dryRun) => api("POST", "/api/v1/rules", { rule, before, expected_version: state.version, dry_run: dryRun }),
  update: (id, rule, dryRun) => api("PUT", `/api/v1/rules/${encodeURIComponent(id)}`,
    { rule, expected_version: state.version, dry_run: dryRun }),
  remove: (id, dryRun) => api("DELETE",
    `/api/v1/rules/${encodeURIComponent(id)}?expected_version=${state.version}${dryRun ? "&dry_run=1" : ""}`),
  move: (id, before, dryRun) => api("POST", `/api/v1/rules/${encodeURIComponent(id)}/move`,
    { before, expected_version: state.version, dry_run: dryRun }),
  explain: (request) => api("POST", "/api/v1/rules/explain", request),
};

// -- login ---------------------------------------------------------------------------------
function showLogin(message) {
  clearInterval(state.timer);
  state.timer = null;
  $("app-view").hidden = true;
  $("whoami").hidden = $("logout").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

function showApp(session) {
  state.csrf = session.csrf;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("whoami").textContent = session.via === "token" ? "logged in with the admin token" : `logged in as ${session.user}`;
  $("whoami").hidden = $("logout").hidden = false;
  refresh();
  loadRules();
  clearInterval(state.timer);
  state.timer = setInterval(refresh, REFRESH_MS);
}

async function logIn(body) {
  $("login-error").textContent = "";
  try {
    showApp(await api("POST", "/admin/login", body));
    $("login-token").value = $("login-password").value = "";
  } catch (error) {
    $("login-error").textContent = error.message;
  }
}

// -- status: seats, licensed users, queue -----------------------------------------------------
function renderProducts(products) {
  $("products").replaceChildren(...products.map((p) => {
    const cap = p.effective_cap;
    const share = cap ? Math.min(1, p.seats_used / cap) : 0;
    const licence = p.upstream_licence;
    const shadow = p.mode === "shadow";
    const peakAt = p.peak_at ? ` at ${stamp(p.peak_at)}` : "";
    return el("div", { class: `card product${shadow ? " shadow" : ""}`, "data-product": p.product, "data-mode": p.mode },
      el("h2", {}, p.product, " ", shadow ? el("span", { class: "pill shadow-label" }, "SHADOW") : null, " ",
        el("span", { class: "muted" }, `${p.kind}, group ${p.license_group}`)),
      shadow ? el("div", { class: "muted" }, "observing only: would-be seats, no licence is changed") : null,
      el("div", { class: "big seats" }, `${p.seats_used} / ${cap === null ? "no cap" : cap}`),
      el("div", { class: `meter${share >= 1 ? " full" : share >= 0.85 ? " high" : ""}` },
        el("div", { style: null, "data-share": share.toFixed(3) })),
      el("div", { class: "muted" }, shadow ? "seats that would be used / cap · " : "seats used / effective cap · ",
        `${p.queue.length} ${shadow ? "would wait" : "waiting"} · inactivity ${duration(p.inactivity_seconds)}`),
      el("div", { class: "muted peak" }, `peak ${p.peak_seats}${peakAt}`),
      el("div", { class: "muted what-if" }, "what-if peak by inactivity: ",
        p.what_if.periods.map((w) => `${w.inactivity_minutes}m ${w.peak_seats}`).join(" · ")),
      licence ? el("div", { class: "muted" },
        `upstream licence: ${licence.used < 0 ? "?" : licence.used} of ${licence.unlimited ? "unlimited" : licence.total}`)
        : null);
  }));
  // Widths are set through the CSSOM: the page's CSP allows no inline style attributes.
  for (const bar of $("products").querySelectorAll("[data-share]")) bar.style.width = `${bar.dataset.share * 100}%`;
}

function renderStatus(doc) {
  state.products = doc.products.map((p) => p.product);
  renderProducts(doc.products);
  const licensed = doc.products.flatMap((p) => p.licensed.map((u) => el("tr", {},
    el("td", {}, p.product), el("td", { class: "user" }, u.user), el("td", { class: "num" }, duration(u.idle_seconds)),
    el("td", {}, u.source || "", u.held_until ? el("span", { class: "pill" }, "held") : null),
    el("td", {}, stamp(u.licensed_since)))));
  fillBody($("licensed"), licensed, 5, "nobody holds a seat");
  const queue = doc.products.flatMap((p) => p.queue.map((q, i) => el("tr", {},
    el("td", {}, p.product), el("td", { class: "num" }, i + 1), el("td", { class: "user" }, q.user),
    el("td", { class: "num" }, duration(q.waiting_seconds)))));
  fillBody($("queue"), queue, 4, "nobody is waiting");
  const select = $("explain-product");
  if (select.options.length !== state.products.length + 1) {
    select.replaceChildren(el("option", { value: "" }, "any product"),
      ...state.products.map((name) => el("option", { value: name }, name)));
  }
}

// -- audit and the latency chart -------------------------------------------------------------
function actionClass(action) {
  if (action.startsWith("revoke")) return "revoke";
  return action.split(":")[1] || action;
}

function renderAudit(entries) {
  const rows = entries.map((e) => el("tr", {},
    el("td", { class: "mono" }, clock(Number(e.ts))), el("td", {}, e.product),
    el("td", {}, el("span", { class: `pill ${actionClass(e.action || "")}` }, e.action)),
    el("td", { class: "user" }, e.user), el("td", {}, e.reason || ""), el("td", {}, e.source || ""),
    el("td", { class: "num" }, e.latency_ms ? `${e.latency_ms} ms` : "")));
  fillBody($("audit"), rows, 7, "no grants or revokes yet");
  renderChart(entries.filter((e) => e.action === "grant:granted" && e.latency_ms !== undefined)
    .map((e) => ({ t: Number(e.ts), ms: Number(e.latency_ms), user: e.user })));
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function renderChart(points) {
  const box = $("latency-chart");
  const W = 900, H = 220, L = 52, R = 12, T = 12, B = 28;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "grant latency of recent grants" });
  chart.append(svg("title", {}, "Grant latency (request to confirmed directory change), recent grants"));
  if (!points.length) {
    chart.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "grid-label" }, "no grants yet"));
    $("latency-summary").textContent = "";
    box.replaceChildren(chart);
    return;
  }
  // Log scale from 1 ms to 10 s: the range of the seatgate_grant_latency_seconds histogram.
  const lo = Math.log10(1), hi = Math.log10(10000);
  const y = (ms) => T + (H - T - B) * (1 - (Math.log10(Math.min(Math.max(ms, 1), 10000)) - lo) / (hi - lo));
  const t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t));
  const pad = 12;  // keeps the first and last points off the plot's edges
  const x = (t) => L + pad + (W - L - R - 2 * pad) * (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0));
  for (const [ms, label] of [[1, "1 ms"], [10, "10 ms"], [100, "100 ms"], [1000, "1 s"], [10000, "10 s"]]) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(ms), y2: y(ms), class: "axis" }));
    chart.append(svg("text", { x: L - 6, y: y(ms) + 4, "text-anchor": "end", class: "grid-label" }, label));
  }
  chart.append(svg("text", { x: L, y: H - 8, class: "grid-label" }, clock(t0)));
  chart.append(svg("text", { x: W - R, y: H - 8, "text-anchor": "end", class: "grid-label" }, clock(t1)));
  const sorted = points.map((p) => p.ms).sort((a, b) => a - b);
  const p50 = quantile(sorted, 0.5), p95 = quantile(sorted, 0.95);
  chart.append(svg("line", { x1: L, x2: W - R, y1: y(p95), y2: y(p95), class: "p95" }));
  for (const p of points) {
    const dot = svg("circle", { cx: x(p.t), cy: y(p.ms), r: 4, class: p.ms > 1000 ? "point slow" : "point" });
    dot.append(svg("title", {}, `${p.user}: ${p.ms} ms at ${clock(p.t)}`));
    chart.append(dot);
  }
  $("latency-summary").textContent = `${points.length} grants · p50 ${p50} ms · p95 ${p95} ms (dashed)`;
  box.replaceChildren(chart);
}

async function refresh() {
  try {
    const [status, audit] = await Promise.all([api("GET", "/api/v1/status"), api("GET", `/api/v1/audit?count=${AUDIT_COUNT}`)]);
    renderStatus(status);
    renderAudit(audit);
    $("app-error").textContent = "";
  } catch (error) {
    if (!(error instanceof ApiError && error.message === "not logged in")) $("app-error").textContent = error.message;
  }
}

// -- rules editor ------------------------------------------------------------------------------
function describeMatch(rule) {
  const parts = [];
  if (rule.methods && rule.methods.length) parts.push(rule.methods.join(","));
  parts.push(rule.path || (rule.regex ? `regex ${rule.regex}` : "any path"));
  for (const c of rule.query || []) parts.push(`?${c}`);
  for (const c of rule.headers || []) parts.push(`header ${c}`);
  if (rule.products && rule.products.length) parts.push(`[${rule.products.join(", ")}]`);
  return parts.join("  ");
}

function renderRules() {
  const filter = $("rules-filter").value.trim().toLowerCase();
  const rows = [];
  state.rules.forEach((rule, index) => {
    const text = `${rule.id} ${rule.verdict} ${describeMatch(rule)} ${rule.description}`.toLowerCase();
    if (filter && !text.includes(filter)) return;
    const next = state.rules[index + 2];
    rows.push(el("tr", { "data-rule": rule.id },
      el("td", { class: "num" }, index + 1), el("td", { class: "mono" }, rule.id),
      el("td", {}, el("span", { class: `pill ${rule.verdict}` }, rule.verdict)),
      el("td", { class: "mono" }, describeMatch(rule)), el("td", {}, rule.description),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "small secondary", "data-action": "edit", onclick: () => editRule(rule) }, "Edit"),
        " ",
        el("button", { type: "button", class: "small secondary", "data-action": "up", title: "Move up", disabled: index === 0,
          onclick: (e) => moveRule(rule.id, state.rules[index - 1].id, e.target) }, "↑"),
        " ",
        el("button", { type: "button", class: "small secondary", "data-action": "down", title: "Move down",
          disabled: index === state.rules.length - 1, onclick: (e) => moveRule(rule.id, next ? next.id : null, e.target) }, "↓"),
        " ",
        el("button", { type: "button", class: "small secondary", "data-action": "remove", onclick: (e) => removeRule(rule.id, e.target) },
          "Remove"))));
  });
  fillBody($("rules"), rows, 6, filter ? "no rule matches the filter" : "no rules");
  $("rules-version").textContent = state.version === null ? "" : `version ${state.version} · ${state.rules.length} rules`;
}

async function loadRules() {
  try {
    const doc = await rulesApi.list();
    state.rules = doc.rules;
    state.version = doc.version;
    renderRules();
  } catch (error) {
    $("rules-error").textContent = error.message;
  }
}

async function rulesChange(call) {
  $("rules-error").textContent = "";
  $("rules-impact").textContent = "";
  try {
    await call();
    await loadRules();
    return true;
  } catch (error) {
    $("rules-error").textContent = error.message;
    await loadRules();
    return false;
  }
}

function openForm(title, rule) {
  state.editing = rule ? rule.id : null;
  $("rule-form-title").textContent = title;
  $("rule-id").value = rule ? rule.id : "";
  $("rule-id").readOnly = Boolean(rule);
  $("rule-description").value = rule ? rule.description : "";
  $("rule-verdict").value = rule ? rule.verdict : "background";
  $("rule-products").value = rule ? (rule.products || []).join(", ") : "";
  $("rule-methods").value = rule ? (rule.methods || []).join(", ") : "";
  $("rule-pattern-kind").value = rule ? (rule.path ? "path" : rule.regex ? "regex" : "any") : "path";
  $("rule-pattern").value = rule ? (rule.path || rule.regex || "") : "";
  $("rule-query").value = rule ? (rule.query || []).join("\n") : "";
  $("rule-headers").value = rule ? (rule.headers || []).join("\n") : "";
  $("rule-position-label").hidden = Boolean(rule);
  resetImpact();
  $("rule-position").replaceChildren(el("option", { value: "" }, "(the first rule: top of the list)"),
    ...state.rules.map((r) => el("option", { value: r.id }, r.id)), el("option", { value: "__end" }, "(end of the list)"));
  $("rule-form").hidden = false;
  $("rule-id").focus();
}

function ruleFromForm() {
  const rule = { id: $("rule-id").value.trim(), description: $("rule-description").value.trim(), verdict: $("rule-verdict").value };
  const products = list($("rule-products").value), methods = list($("rule-methods").value).map((m) => m.toUpperCase());
  if (products.length) rule.products = products;
  if (methods.length) rule.methods = methods;
  const kind = $("rule-pattern-kind").value, pattern = $("rule-pattern").value.trim();
  if (kind === "any") rule.any_path = true;
  else if (pattern) rule[kind] = pattern;
  const query = lines($("rule-query").value), headers = lines($("rule-headers").value);
  if (query.length) rule.query = query;
  if (headers.length) rule.headers = headers;
  return rule;
}

function editRule(rule) { openForm(`Edit rule ${rule.id}`, rule); }

// Saving takes two steps: the first measures the edit on recent traffic (a dry run) and
// shows its blast radius; the second, with the form unchanged, saves it.
function resetImpact() {
  state.measured = null;
  $("rule-impact").hidden = true;
  $("rule-any-path-warning").hidden = true;
  $("rule-any-path-confirm").checked = false;
  $("rule-save").textContent = "Save";
}

async function saveRule(event) {
  event.preventDefault();
  const rule = ruleFromForm();
  const position = $("rule-position").value;
  const before = position === "__end" ? null : position || (state.rules[0] ? state.rules[0].id : null);
  const call = (dryRun) => (state.editing ? rulesApi.update(state.editing, rule, dryRun) : rulesApi.add(rule, before, dryRun));
  const key = JSON.stringify([state.editing, rule, before]);
  $("rules-error").textContent = "";
  if (state.measured !== key) {
    try {
      const answer = await call(true);
      $("rule-impact-text").textContent = answer.blast_radius.summary;
      $("rule-any-path-warning").hidden = !rule.any_path;
      $("rule-impact").hidden = false;
      $("rule-save").textContent = "Confirm save";
      state.measured = key;
    } catch (error) {
      $("rules-error").textContent = error.message;
    }
    return;
  }
  if (rule.any_path && !$("rule-any-path-confirm").checked) {
    $("rules-error").textContent = "tick \"I mean every path\" to save a rule without a path or regex";
    return;
  }
  if (await rulesChange(() => call(false))) {
    $("rule-form").hidden = true;
    resetImpact();
  }
}

// Moving and removing also take two clicks: the first shows the blast radius.
async function armed(button, label, measure, save) {
  if (button.dataset.armed) return rulesChange(save);
  $("rules-error").textContent = "";
  try {
    $("rules-impact").textContent = (await measure()).blast_radius.summary;
  } catch (error) {
    $("rules-error").textContent = error.message;
    return null;
  }
  const text = button.textContent;
  button.dataset.armed = "1";
  button.textContent = label;
  button.classList.add("danger");
  setTimeout(() => {
    delete button.dataset.armed;
    button.textContent = text;
    button.classList.remove("danger");
  }, 8000);
  return null;
}

function moveRule(id, before, button) {
  return armed(button, `${button.textContent}?`, () => rulesApi.move(id, before, true), () => rulesApi.move(id, before));
}

function removeRule(id, button) {
  // Two clicks, no confirm(): a dialog would block the page (and automated checks).
  return armed(button, "Really remove?", () => rulesApi.remove(id, true), () => rulesApi.remove(id));
}

// -- explain -----------------------------------------------------------------------------------
function parseHeaderLines(text) {
  const headers = {};
  for (const line of lines(text)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

// Credentials in a pasted request never leave the browser: no rule looks at their values.
const CREDENTIAL_HEADERS = new Set(["cookie", "authorization", "proxy-authorization"]);

function parseRawRequest(text) {
  const [head] = text.replace(/\r\n/g, "\n").split("\n\n");
  const [requestLine, ...headerLines] = head.split("\n");
  const match = /^\s*([A-Za-z]+)\s+(\S+)/.exec(requestLine || "");
  if (!match) throw new Error("the first line must be a request line: METHOD /path?query HTTP/1.1");
  let target = match[2];
  if (/^https?:\/\//i.test(target)) {
    const url = new URL(target);
    target = url.pathname + url.search;
  }
  const headers = parseHeaderLines(headerLines.join("\n"));
  for (const name of Object.keys(headers)) if (CREDENTIAL_HEADERS.has(name)) headers[name] = "(removed)";
  return { method: match[1].toUpperCase(), target, headers };
}

async function explain(method, target, headers) {
  const result = $("explain-result");
  const [path, ...rest] = target.split("?");
  const request = { method, path, query: rest.join("?"), headers };
  if ($("explain-product").value) request.product = $("explain-product").value;
  try {
    const answer = await rulesApi.explain(request);
    const nearMisses = answer.near_misses || [];
    // replaceChildren would print a null as the text "null": drop the parts not shown.
    result.replaceChildren(...[
      el("div", { class: "verdict" }, `${method} ${target} → `, el("span", { class: `pill ${answer.verdict}`, id: "explain-verdict" }, answer.verdict)),
      el("div", {}, answer.rule ? "decided by rule " : "no rule matched: ", answer.rule ? el("code", { id: "explain-rule" }, answer.rule) : null,
        answer.rule ? `: ${answer.reason}` : answer.reason),
      answer.description ? el("div", { class: "muted" }, answer.description) : null,
      nearMisses.length ? el("ul", {}, nearMisses.map((m) => el("li", {}, "skipped ", el("code", {}, m.rule), `: ${m.reason}`))) : null,
    ].filter(Boolean));
  } catch (error) {
    result.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

// -- wiring ------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", async () => {
  $("login-token-form").addEventListener("submit", (e) => { e.preventDefault(); logIn({ token: $("login-token").value }); });
  $("login-upstream-form").addEventListener("submit", (e) => {
    e.preventDefault();
    logIn({ username: $("login-username").value, password: $("login-password").value });
  });
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/admin/logout"); } finally { showLogin("Logged out."); }
  });
  $("rule-new").addEventListener("click", () => openForm("Add a rule", null));
  $("rule-cancel").addEventListener("click", () => { $("rule-form").hidden = true; });
  $("rule-form").addEventListener("submit", saveRule);
  // Any change to the form makes the measured blast radius stale: measure again first.
  $("rule-form").addEventListener("input", (e) => { if (e.target.id !== "rule-any-path-confirm") resetImpact(); });
  $("rules-filter").addEventListener("input", renderRules);
  $("explain-form").addEventListener("submit", (e) => {
    e.preventDefault();
    explain($("explain-method").value.trim().toUpperCase(), $("explain-path").value.trim(), parseHeaderLines($("explain-headers").value));
  });
  $("paste-form").addEventListener("submit", (e) => {
    e.preventDefault();
    try {
      const parsed = parseRawRequest($("paste-request").value);
      explain(parsed.method, parsed.target, parsed.headers);
    } catch (error) {
      $("explain-result").replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
  try {
    showApp(await api("GET", "/admin/session"));
  } catch {
    showLogin("");
  }
});
