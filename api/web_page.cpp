#include "api/web_page.hpp"

namespace dirscope::api {

const char* const web_page = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dirscope</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 0; display: flex; }
nav { width: 14em; border-right: 1px solid #ccc; padding: .5em; min-height: 100vh; }
main { flex: 1; padding: .5em 1em; }
nav a, #crumbs a { cursor: pointer; color: #0645ad; }
nav li.active a { font-weight: bold; }
table { border-collapse: collapse; font-family: monospace; }
td, th { padding: .1em .6em; text-align: left; }
td.num { text-align: right; }
#error { color: #b00; }
#login[hidden], main[hidden] { display: none; }
</style></head>
<body>
<nav><h3>nodes</h3><ul id="nodes"></ul></nav>
<main>
<form id="login" hidden>operator token: <input id="token" type="password" size="40">
<button>open</button></form>
<div id="crumbs"></div>
<p id="error"></p>
<table id="listing"><thead><tr><th>type</th><th>mtime</th><th>size</th>
<th>items/sha256</th><th>name</th></tr></thead><tbody></tbody></table>
</main>
<script>
"use strict";
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get("token") || sessionStorage.getItem("dirscope-token") || "";
if (params.get("token")) {
  sessionStorage.setItem("dirscope-token", token);
}
let current = { node: params.get("node") || "", path: params.get("path") || "/" };
const $ = (id) => document.getElementById(id);
const auth = () => ({ "Authorization": "Bearer " + token });

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined ? { headers: auth() } : {
    method: "POST", headers: Object.assign({ "Content-Type": "application/json" }, auth()),
    body: JSON.stringify(body) });
  if (res.status === 401) { $("login").hidden = false; throw new Error("the token is missing or wrong"); }
  return res;
}

function showNodes(rows) {
  const ul = $("nodes");
  ul.replaceChildren();
  for (const row of rows.sort((a, b) => a.name.localeCompare(b.name))) {
    const li = document.createElement("li");
    li.dataset.node = row.name;
    if (row.name === current.node) li.className = "active";
    const a = text("a", row.name);
    a.onclick = () => open(row.name, "/");
    li.append(a);
    ul.append(li);
  }
}

let nodes = [];
async function loadNodes() {
  nodes = await (await api("/api/v1/nodes")).json();
  showNodes(nodes);
}

// Joins and leaves, as they happen (server-sent events over fetch: an
// EventSource cannot send the token).
async function watch() {
  const res = await api("/api/v1/events");
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (!event || !data) continue;
      const x = JSON.parse(data);
      if (event === "nodes") nodes = x;
      else if (event === "join") nodes = nodes.filter(n => n.name !== x.name).concat([x]);
      else if (event === "leave") nodes = nodes.filter(n => n.name !== x.name);
      showNodes(nodes);
    }
  }
}

function crumbs() {
  const div = $("crumbs");
  div.replaceChildren();
  const parts = current.path.split("/").filter(p => p);
  const link = (label, path) => {
    const a = text("a", label);
    a.onclick = () => open(current.node, path);
    div.append(a);
  };
  link(current.node + ":/", "/");
  let path = "";
  parts.forEach((p, i) => {
    path += "/" + p;
    div.append(document.createTextNode(i ? " / " : " "));
    link(p, path);
  });
}

// Paths in the URL and in commands are as the shell shows them (escaped);
// quoted as the shell's tokenizer reads them back.
function quote(s) {
  if (!s.includes("'")) return "'" + s + "'";
  return '"' + s.replace(/"/g, '\\"') + '"';
}

async function open(node, path) {
  current = { node, path };
  location.hash = "node=" + encodeURIComponent(node) + "&path=" + encodeURIComponent(path);
  showNodes(nodes);
  crumbs();
  $("error").textContent = "";
  const body = $("listing").tBodies[0];
  body.replaceChildren();
  const res = await api("/api/v1/run", { command: "ls --json " + quote(node + ":" + path) });
  const lines = (await res.text()).split("\n").filter(l => l.trim());
  for (const line of lines) {
    const x = JSON.parse(line);
    if (x.status === "error") { $("error").textContent = x.message + " (" + x.code + ")"; continue; }
    if (x.status) continue;
    const tr = document.createElement("tr");
    tr.append(text("td", x.type), text("td", x.mtime), text("td", String(x.size), "num"),
              text("td", x.error ? x.error : x.sha256 !== undefined ? x.sha256
                   : x.items !== undefined ? x.items + (x.items === 1 ? " item" : " items")
                   : x.target !== undefined ? "-> " + x.target : "", "detail"));
    const name = text("td", x.name, "name");
    if (x.type === "dir") {
      const a = text("a", x.name);
      const sub = (path.endsWith("/") ? path : path + "/") + x.name;
      a.onclick = () => open(node, sub);
      name.replaceChildren(a);
    }
    tr.append(name);
    body.append(tr);
  }
}

$("login").onsubmit = (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("dirscope-token", token);
  $("login").hidden = true;
  start();
};

async function start() {
  try {
    await loadNodes();
    if (current.node) await open(current.node, current.path);
    document.body.dataset.ready = "yes";
    if (!params.has("static")) watch().catch(e => { $("error").textContent = String(e); });
  } catch (e) {
    $("error").textContent = String(e.message || e);
  }
}
if (token) start(); else $("login").hidden = false;
</script>
</body></html>
)html";

} // namespace dirscope::api
