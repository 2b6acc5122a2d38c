// embrec web page: plain JavaScript, no build step. Talks to the same app's JSON API.
"use strict";

const state = { ratings: new Map(), scale: [1, 5], user: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { headers: { "content-type": "application/json" }, ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function say(text) { $("status").textContent = text || ""; }

function meta(item) {
  const parts = [];
  if (item.year) parts.push(item.year);
  if (item.genres && item.genres.length) parts.push(item.genres.join(", "));
  return parts.join(" · ");
}

function stars(item) {
  const [lo, hi] = state.scale;
  const box = el("span", { class: "stars" });
  for (let value = Math.ceil(lo); value <= Math.floor(hi); value++) {
    const star = el("button", { type: "button", title: `${value} stars`, "data-value": String(value) }, "★");
    star.addEventListener("click", () => {
      state.ratings.set(item.item, value);
      for (const other of box.children) other.classList.toggle("on", Number(other.dataset.value) <= value);
    });
    box.append(star);
  }
  return box;
}

async function loadQuestionnaire() {
  const q = await api("/questionnaire?n=12");
  state.scale = q.scale;
  $("questionnaire").replaceChildren(...q.items.map((item) =>
    el("li", { class: "question", "data-item": item.item },
      el("div", { class: "title" }, item.title), el("div", { class: "meta" }, meta(item)), stars(item))));
  $("genres").replaceChildren(...q.genres.map((genre) =>
    el("label", {}, el("input", { type: "checkbox", value: genre }), " ", genre)));
}

function card(item) {
  const children = [
    el("h3", {}, item.title),
    el("div", { class: "meta" }, meta(item)),
    el("div", { class: "score" }, `predicted ${item.score.toFixed(1)} ★`),
  ];
  if (item.because && item.because.length) {
    children.push(el("div", { class: "because" }, `because you liked ${item.because.join(" and ")}`));
  }
  children.push(el("button", { type: "button", onclick: () => showSimilar(item) }, "Similar films"));
  return el("article", { class: "card", "data-item": item.item }, ...children);
}

function showList(list) {
  state.user = list.user;
  localStorage.setItem("embrec-user", list.user);
  $("who").textContent = list.user;
  $("version").textContent = `(model ${list.model_version})`;
  $("recommendations").replaceChildren(...list.items.map(card));
  $("onboarding").hidden = true;
  $("results").hidden = false;
  drawMap().catch((error) => say(`taste map: ${error.message}`));
}

async function submit() {
  say("");
  const ratings = [...state.ratings].map(([item, rating]) => ({ item, rating }));
  const genres = [...document.querySelectorAll("#genres input:checked")].map((box) => box.value);
  if (!ratings.length && !genres.length) { say("Rate a film or pick a genre first."); return; }
  try {
    showList(await api("/users", { method: "POST", body: JSON.stringify({ ratings, genres, k: 12 }) }));
  } catch (error) { say(error.message); }
}

async function loadUser(user) {
  say("");
  try { showList(await api(`/recommendations/${encodeURIComponent(user)}?k=12&explain=true`)); }
  catch (error) { say(error.message); }
}

async function showSimilar(item) {
  try {
    const similar = await api(`/items/${encodeURIComponent(item.item)}/similar?k=8`);
    $("similar-title").textContent = item.title;
    $("similar-list").replaceChildren(...similar.items.map((s) => el("li", {}, `${s.title} `, el("small", {}, meta(s)))));
    $("similar").hidden = false;
  } catch (error) { say(error.message); }
}

async function drawMap() {
  const data = await api(`/map?n=300&user=${encodeURIComponent(state.user)}`);
  const points = data.items.map((p) => [p.x, p.y]);
  if (data.user) points.push([data.user.x, data.user.y]);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const W = 800, H = 500, pad = 20;
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const maxPop = Math.max(...data.items.map((p) => p.popularity), 1);
  data.items.forEach((p, i) => {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("class", "item");
    dot.setAttribute("cx", sx(p.x)); dot.setAttribute("cy", sy(p.y));
    dot.setAttribute("r", 2 + 5 * Math.sqrt(p.popularity / maxPop));
    const title = document.createElementNS(ns, "title");
    title.textContent = p.title;
    dot.append(title);
    svg.append(dot);
    if (i < 25) {
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", sx(p.x) + 6); label.setAttribute("y", sy(p.y) + 3);
      label.textContent = p.title.length > 28 ? `${p.title.slice(0, 27)}…` : p.title;
      svg.append(label);
    }
  });
  if (data.user) {
    const you = document.createElementNS(ns, "circle");
    you.setAttribute("class", "you");
    you.setAttribute("cx", sx(data.user.x)); you.setAttribute("cy", sy(data.user.y)); you.setAttribute("r", 8);
    svg.append(you);
  }
  $("map").replaceChildren(svg);
}

function restart() {
  state.ratings.clear();
  localStorage.removeItem("embrec-user");
  $("results").hidden = true;
  $("onboarding").hidden = false;
  loadQuestionnaire().catch((error) => say(error.message));
}

$("submit").addEventListener("click", submit);
$("restart").addEventListener("click", restart);
$("load-user").addEventListener("click", () => loadUser($("user-id").value.trim()));
loadQuestionnaire().catch((error) => say(error.message));
