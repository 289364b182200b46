// dirscope's web view: the node list (live from /api/v1/events), a node's
// tree with breadcrumbs, find across nodes, and deletes the operator
// confirms. Every question goes through the operator API as the shell's own
// commands with --json, so rows read exactly as the shell shows them.
"use strict";

const view = {
  token: sessionStorage.getItem("dirscope-token") || "",
  nodes: new Map(), // name -> row of `nodes --json`
  node: null, // the node being browsed
  path: "/", // its directory, escaped as the shell shows it
  events: null, // AbortController of the event stream
  generation: 0, // drops the answers of a listing that was replaced
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const x = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {}))
    if (k === "class") x.className = v;
    else if (k === "onclick") x.addEventListener("click", v);
    else x.setAttribute(k, v);
  for (const c of children)
    x.append(c);
  return x;
}

function setStatus(text) { $("status").textContent = text; }
function setMessage(text) { $("message").textContent = text || ""; }

// -- the API ----------------------------------------------------------------

function headers(extra) {
  return Object.assign({
    "Authorization": "Bearer " + view.token,
    "X-Dirscope-Operator": "web",
  }, extra || {});
}

// One word of a command line: names come escaped (\xNN, \\) as the shell
// prints them, which the shell reads back the same way inside "...".
function quote(word) {
  return '"' + word.replace(/"/g, '\\"') + '"';
}

// Splits a byte stream into lines as they arrive.
async function* lines(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done)
      break;
    rest += decoder.decode(value, { stream: true });
    let at;
    while ((at = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
  }
  if (rest)
    yield rest;
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Runs one shell command; calls onRow for each JSON object it prints and
// resolves when it ended well, rejects with an ApiError when it failed.
async function run(command, onRow, options) {
  const body = { command };
  if (options && options.confirm)
    body.confirm = true;
  const res = await fetch("/api/v1/run", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json",
                       "Accept": "application/x-ndjson" }),
    body: JSON.stringify(body),
  });
  if (res.status === 401)
    throw new ApiError("permission_denied", "the operator token is wrong");
  if (!res.ok) {
    const x = await res.json().catch(() => ({}));
    throw new ApiError(x.code || "http_" + res.status,
                       x.message || res.statusText);
  }
  for await (const line of lines(res)) {
    if (!line.trim())
      continue; // keep-alive
    const x = JSON.parse(line);
    if (x.status === "ok")
      return;
    if (x.status === "error")
      throw new ApiError(x.code, x.message);
    if (onRow)
      onRow(x);
  }
  throw new ApiError("io_error", "the answer ended without a status");
}

// -- nodes, live ------------------------------------------------------------

function renderNodes() {
  const list = $("nodes");
  list.replaceChildren();
  const names = [...view.nodes.keys()].sort();
  for (const name of names) {
    const x = view.nodes.get(name);
    const item = el("li", { "data-node": name, title: x.root,
                            onclick: () => browse(name, "/") },
                    name, " ", el("span", { class: "host" }, x.hostname));
    if (name === view.node)
      item.classList.add("selected");
    list.append(item);
  }
  $("node-count").textContent = "(" + names.length + ")";
}

function onEvent(type, data) {
  if (type === "nodes") {
    view.nodes.clear();
    for (const x of data)
      view.nodes.set(x.name, x);
  } else if (type === "join") {
    view.nodes.set(data.name, data);
  } else if (type === "leave") {
    view.nodes.delete(data.name);
    if (data.name === view.node)
      setMessage(data.name + " left (" + data.reason + ")");
  } else {
    return; // echo lines: not shown here
  }
  renderNodes();
}

// Server-sent events over fetch (EventSource cannot send the token).
async function followEvents() {
  if (view.events)
    view.events.abort();
  const ctl = new AbortController();
  view.events = ctl;
  try {
    const res = await fetch("/api/v1/events",
                            { headers: headers(), signal: ctl.signal });
    if (res.status === 401) {
      setStatus("the operator token is wrong");
      return;
    }
    if (!res.ok)
      throw new Error("events: HTTP " + res.status);
    setStatus("connected");
    let type = "message", data = "";
    for await (const line of lines(res)) {
      if (line.startsWith("event:")) {
        type = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        data += line.slice(5).trim();
      } else if (line === "") {
        if (data)
          onEvent(type, JSON.parse(data));
        type = "message";
        data = "";
      }
    }
    setStatus("disconnected: the server closed the event stream");
  } catch (e) {
    if (ctl.signal.aborted)
      return;
    setStatus("disconnected: " + e.message);
  }
  // Reconnect after a pause, unless another stream replaced this one.
  if (view.events === ctl)
    setTimeout(followEvents, 3000);
}

// -- the tree ---------------------------------------------------------------

function joinPath(dir, name) {
  return dir === "/" ? "/" + name : dir + "/" + name;
}

function renderCrumbs() {
  const crumbs = $("crumbs");
  crumbs.replaceChildren();
  if (!view.node)
    return;
  const parts = view.path.split("/").filter((x) => x);
  crumbs.append(el("a", { onclick: () => browse(view.node, "/") },
                   view.node + ":/"));
  let at = "";
  parts.forEach((part, i) => {
    at += "/" + part;
    const target = at;
    if (i > 0)
      crumbs.append("/");
    crumbs.append(el("a", { onclick: () => browse(view.node, target) },
                     part));
  });
}

// The columns of the shell's `ls` row.
function cells(x) {
  const short = { file: "file", dir: "dir", symlink: "link" }[x.type]
                || "other";
  let details = "";
  if (x.items !== undefined)
    details = x.items + (x.items === 1 ? " item" : " items");
  else if (x.sha256)
    details = x.sha256;
  if (x.error)
    details += (details ? " " : "") + "[error: " + x.error + "]";
  // The shell shows local time without the offset RFC 3339 adds.
  const mtime = /^\d{4}-/.test(x.mtime) ? x.mtime.slice(0, 19) : x.mtime;
  return { short, mtime, size: String(x.size), details };
}

function row(x, showNode) {
  const c = cells(x);
  const path = joinPath(x.path, x.name);
  const label = showNode ? x.node + ":" + path : x.name;
  let name;
  if (x.type === "dir")
    name = el("a", { onclick: () => browse(x.node, path) }, label);
  else if (x.type === "symlink")
    name = el("span", { class: "link" }, label + " -> " + (x.target || "?"));
  else
    name = document.createTextNode(label);
  const actions = el("td");
  if (x.type === "file")
    actions.append(el("button", { class: "download",
                                  onclick: () => download(x.node, path,
                                                          x.name) },
                      "download"), " ");
  if (x.type === "file" || x.type === "symlink")
    actions.append(el("button", { class: "delete",
                                  onclick: () => remove(x.node, path) },
                      "delete"));
  return el("tr", { "data-name": x.name, "data-path": path },
            el("td", {}, c.short), el("td", {}, c.mtime),
            el("td", { class: "size" }, c.size),
            el("td", { class: "details" }, c.details),
            el("td", { class: "name" }, name), actions);
}

async function browse(node, path) {
  view.node = node;
  view.path = path;
  const generation = ++view.generation;
  renderNodes();
  renderCrumbs();
  setMessage("");
  const body = $("listing").tBodies[0];
  body.replaceChildren();
  try {
    await run("ls --json " + quote(node + ":" + path), (x) => {
      if (generation === view.generation && x.name !== undefined)
        body.append(row(x, false));
    });
    if (generation === view.generation && !body.rows.length)
      setMessage("(empty)");
  } catch (e) {
    if (generation === view.generation)
      setMessage(e.message + (e.code ? " (" + e.code + ")" : ""));
  }
}

// The raw bytes an escaped path stands for (\\ and \xNN as the shell
// writes them), percent-encoded for a query string.
function rawQuery(escaped) {
  const chars = Array.from(escaped); // code points, not UTF-16 halves
  let out = "";
  for (let i = 0; i < chars.length; ++i) {
    const c = chars[i];
    if (c === "\\" && chars[i + 1] === "\\") {
      out += "%5C";
      ++i;
    } else if (c === "\\" && chars[i + 1] === "x") {
      out += "%" + chars[i + 2] + chars[i + 3];
      i += 3;
    } else {
      out += encodeURIComponent(c);
    }
  }
  return out;
}

// Downloads through GET /api/v1/file (the node's policy decides) and hands
// the bytes to the browser as a file.
async function download(node, path, name) {
  setMessage("downloading " + node + ":" + path + " ...");
  try {
    const res = await fetch("/api/v1/file?node=" + encodeURIComponent(node)
                            + "&path=" + rawQuery(path),
                            { headers: headers() });
    if (!res.ok) {
      const x = await res.json().catch(() => ({}));
      throw new ApiError(x.code || "http_" + res.status,
                         x.message || res.statusText);
    }
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setMessage("downloaded " + node + ":" + path);
  } catch (e) {
    setMessage(e.message + (e.code ? " (" + e.code + ")" : ""));
  }
}

async function remove(node, path) {
  if (!confirm("Delete " + node + ":" + path + " on the node?"))
    return;
  try {
    await run("rm " + quote(node + ":" + path), null, { confirm: true });
    await browse(view.node, view.path);
    setMessage("deleted " + node + ":" + path);
  } catch (e) {
    setMessage(e.message + (e.code ? " (" + e.code + ")" : ""));
  }
}

// Find on the browsed node, or on every node at once; each node's rows
// show as they come, a node that fails gets one line.
async function search(event) {
  event.preventDefault();
  const pattern = $("search-name").value.trim();
  if (!pattern)
    return;
  const targets = $("search-all").checked ? [...view.nodes.keys()]
                                          : (view.node ? [view.node] : []);
  if (!targets.length) {
    setMessage("pick a node first");
    return;
  }
  const generation = ++view.generation;
  const where = targets.length === 1 ? view.path : "/";
  $("crumbs").replaceChildren("find " + pattern + " on "
                              + targets.length + " node(s)");
  const body = $("listing").tBodies[0];
  body.replaceChildren();
  setMessage("");
  const failures = [];
  let matches = 0;
  await Promise.all(targets.map((node) =>
    run("find --json " + quote(node + ":" + where) + " --name "
          + quote(pattern), (x) => {
      if (generation === view.generation && x.name !== undefined) {
        body.append(row(x, true));
        ++matches;
      }
    }).catch((e) => failures.push(node + ": " + e.message))));
  if (generation !== view.generation)
    return;
  setMessage(matches + " match(es) on " + targets.length + " node(s)"
             + (failures.length ? "; failed: " + failures.join("; ") : ""));
}

// -- start ------------------------------------------------------------------

function connect(event) {
  if (event)
    event.preventDefault();
  const typed = $("token").value.trim();
  if (typed)
    view.token = typed;
  if (!view.token)
    return;
  sessionStorage.setItem("dirscope-token", view.token);
  $("token").value = "";
  setStatus("connecting...");
  followEvents();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", connect);
  $("search").addEventListener("submit", search);
  connect();
});
