// The sandbox's page: plays Slack's client for the real bot. It asks the sandbox what to
// show (GET /state) and tells it what people do (POST /act), which the sandbox sends on
// to the bot as Slack would. Every text is put on the page as text (textContent), never
// as HTML: mrkdwn is read into elements here, so no message can inject markup.
"use strict";

const page = {
  user: null,          // who is using the page now
  place: null,         // a conversation id, or "home"
  thread: null,        // ts of the open thread's parent
  shown: "",           // the last state drawn, as its JSON text
  data: null,
  choices: {},         // container -> block_id -> action_id -> what is picked (Slack keeps these)
  problem: "",         // what went wrong with the last thing done on the page
};
const NOT_ANSWERING = "The sandbox is not answering: is `python app.py` still running?";

const EMOJI = {
  warning: "⚠️", white_check_mark: "✅", red_circle: "🔴", large_orange_circle: "🟠",
  large_blue_circle: "🔵", large_green_circle: "🟢", hourglass_flowing_sand: "⏳",
  arrows_counterclockwise: "🔄", x: "❌", memo: "📝", calendar: "📅", bell: "🔔",
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function $(id) { return document.getElementById(id); }

// ---- mrkdwn -------------------------------------------------------------------------

function unescape(text) {  // Slack's three escapes, shown as the characters they stand for
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emoji(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

const INLINE = /```([\s\S]+?)```|`([^`\n]+)`|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|<([^>\n]+)>/;

function mrkdwn(text, parent) {
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) { plain(rest, parent); break; }
    plain(rest.slice(0, match.index), parent);
    rest = rest.slice(match.index + match[0].length);
    if (match[1] !== undefined) parent.append(el("pre", "", unescape(match[1])));
    else if (match[2] !== undefined) parent.append(el("code", "", unescape(match[2])));
    else if (match[3] !== undefined) mrkdwn(match[3], parent.appendChild(el("strong")));
    else if (match[4] !== undefined) mrkdwn(match[4], parent.appendChild(el("em")));
    else if (match[5] !== undefined) mrkdwn(match[5], parent.appendChild(el("s")));
    else parent.append(entity(match[6]));
  }
}

function plain(text, parent) {  // text with line breaks and quotes, no markup
  text.split("\n").forEach((line, i) => {
    if (i) parent.append(el("br"));
    if (line.startsWith("&gt; ")) {
      parent.append(el("blockquote", "", emoji(unescape(line.slice(5)))));
    } else if (line) {
      parent.append(document.createTextNode(emoji(unescape(line))));
    }
  });
}

function entity(inner) {  // <@U123>, <#C123|name>, <!here>, <https://…|label>
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) return el("span", "mention", "@" + nameOf(target.slice(1)));
  if (target.startsWith("#")) return el("span", "mention", "#" + (label || channelName(target.slice(1))));
  if (target.startsWith("!")) return el("span", "mention", "@" + (label || target.slice(1)));
  if (/^(https?:|mailto:)/.test(target)) {
    const link = el("a", "", unescape(label || target));
    link.href = unescape(target);
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }
  return document.createTextNode(unescape(label || target));
}

function nameOf(id) {
  const person = (page.data.people || []).find((p) => p.id === id);
  return person ? person.name : id;
}

function channelName(id) {
  const place = page.data.conversations.find((c) => c.id === id);
  return place ? place.name : id;
}

function textObject(obj, parent) {
  if (!obj) return parent;
  if (obj.type === "mrkdwn") mrkdwn(emoji(obj.text), parent);  // :white_check_mark: is no italic
  else parent.append(document.createTextNode(emoji(obj.text)));
  return parent;
}

// ---- Block Kit ----------------------------------------------------------------------

function blocks(list, container) {
  const out = el("div", "blocks");
  for (const block of list) {
    const node = el("div", "block " + block.type);
    node.dataset.blockId = block.block_id || "";
    if (block.type === "section") {
      const text = node.appendChild(el("div", "text"));
      if (block.text) textObject(block.text, text);
      if (block.fields) {
        const fields = text.appendChild(el("div", "fields"));
        block.fields.forEach((f) => textObject(f, fields.appendChild(el("div"))));
      }
      if (block.accessory) node.append(element(block.accessory, block.block_id, container));
    } else if (block.type === "header") {
      textObject(block.text, node);
    } else if (block.type === "divider") {
      node.append(el("hr"));
    } else if (block.type === "context") {
      for (const item of block.elements) {
        if (item.type === "image") node.append(el("span", "", "[" + item.alt_text + "]"));
        else textObject(item, node.appendChild(el("span")));
      }
    } else if (block.type === "actions") {
      block.elements.forEach((e) => node.append(element(e, block.block_id, container)));
    } else if (block.type === "input") {
      const label = node.appendChild(el("label", "input-label"));
      textObject(block.label, label);
      node.append(element({ ...block.element, dispatch: block.dispatch_action }, block.block_id, container));
      if (block.hint) textObject(block.hint, node.appendChild(el("div", "hint")));
    } else {
      node.append(el("span", "unsupported", "[a " + block.type + " block the sandbox does not draw]"));
    }
    out.append(node);
  }
  return out;
}

function chosenIn(container, blockId, actionId) {
  return ((page.choices[container.key] || {})[blockId] || {})[actionId];
}

function element(e, blockId, container) {
  const act = (chosen) => action(container, blockId, e.action_id, chosen, e.confirm);
  const picked = chosenIn(container, blockId, e.action_id);
  let node;
  if (e.type === "button") {
    node = el("button", "sk-button " + (e.style || ""), emoji(e.text.text));
    node.type = "button";
    node.addEventListener("click", () => act(null));
  } else if (e.type === "static_select" || e.type === "multi_static_select" || e.type === "overflow") {
    node = select(e, picked, act);
  } else if (e.type === "conversations_select") {
    node = select({
      ...e,
      options: page.data.conversations.filter((c) => c.kind === "channel")
        .map((c) => ({ text: { type: "plain_text", text: "#" + c.name }, value: c.id })),
      initial_option: e.initial_conversation && { value: e.initial_conversation },
    }, picked, act);
  } else if (e.type === "users_select") {
    node = select({
      ...e,
      options: (page.data.people || [])
        .map((p) => ({ text: { type: "plain_text", text: p.name }, value: p.id })),
      initial_option: e.initial_user && { value: e.initial_user },
    }, picked, act);
  } else if (e.type === "plain_text_input") {
    node = el(e.multiline ? "textarea" : "input", "text-input");
    if (e.max_length) node.maxLength = e.max_length;
    node.value = picked || e.initial_value || "";
    if (e.placeholder) node.placeholder = e.placeholder.text;
    // Enter sends it, as Slack does for an input that dispatches its action.
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && e.dispatch && node.value.trim()) {
        event.preventDefault();
        act(node.value);
      }
    });
  } else if (e.type === "radio_buttons" || e.type === "checkboxes") {
    node = choices(e, picked, act);
  } else if (e.type === "datepicker") {
    node = el("input", "datepicker");
    node.type = "date";
    node.value = picked || e.initial_date || "";
    node.addEventListener("change", () => { if (node.value) act(node.value); });
  } else {
    node = el("span", "unsupported", "[a " + e.type + " the sandbox does not draw]");
  }
  node.dataset.actionId = e.action_id || "";
  return node;
}

function select(e, picked, act) {
  const multi = e.type === "multi_static_select";
  const node = el("select", e.type);
  node.multiple = multi;
  if (!multi) {
    const first = node.appendChild(el("option", "", e.type === "overflow" ? "⋯" : (e.placeholder ? e.placeholder.text : "Choose…")));
    first.value = "";
    first.disabled = e.type !== "overflow";
  }
  const initial = picked !== undefined ? [].concat(picked)
    : (e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value);
  const add = (parent, o) => {
    const option = parent.appendChild(el("option", "", emoji(o.text.text)));
    option.value = o.value;
    option.selected = e.type !== "overflow" && initial.includes(o.value);
  };
  (e.options || []).forEach((o) => add(node, o));
  (e.option_groups || []).forEach((g) => {
    const group = node.appendChild(el("optgroup"));
    group.label = g.label.text;
    g.options.forEach((o) => add(group, o));
  });
  if (multi) node.size = Math.min(node.options.length, 8);
  else if (!node.querySelector("option:checked:not([value=''])")) node.value = "";
  node.addEventListener("change", () => {
    if (multi) act([...node.selectedOptions].map((o) => o.value));
    else if (node.value) act(node.value);
  });
  return node;
}

function choices(e, picked, act) {
  const radio = e.type === "radio_buttons";
  const node = el("div", "choices " + e.type);
  const name = "c" + Math.random().toString(36).slice(2);
  const initial = picked !== undefined ? [].concat(picked)
    : (e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value);
  for (const o of e.options) {
    const label = node.appendChild(el("label"));
    const input = label.appendChild(el("input"));
    input.type = radio ? "radio" : "checkbox";
    input.name = name;
    input.value = o.value;
    input.checked = initial.includes(o.value);
    label.append(" ");
    textObject(o.text, label.appendChild(el("span")));
    if (o.description) textObject(o.description, label.appendChild(el("span", "description")));
    input.addEventListener("change", () => {
      if (radio) act(input.value);
      else act([...node.querySelectorAll("input:checked")].map((i) => i.value));
    });
  }
  return node;
}

// ---- doing things ------------------------------------------------------------------

function confirmed(confirm) {
  if (!confirm) return Promise.resolve(true);
  const dialog = $("confirm");
  $("confirm-title").textContent = confirm.title ? confirm.title.text : "Are you sure?";
  $("confirm-text").replaceChildren(textObject(confirm.text, el("div")));
  $("confirm-ok").textContent = confirm.confirm ? confirm.confirm.text : "Yes";
  $("confirm-ok").className = "sk-button " + (confirm.style || "primary");
  $("confirm-deny").textContent = confirm.deny ? confirm.deny.text : "Cancel";
  $("confirm-deny").className = "sk-button";
  return new Promise((resolve) => {
    const done = (answer) => () => { dialog.close(); resolve(answer); };
    $("confirm-ok").onclick = done(true);
    $("confirm-deny").onclick = done(false);
    dialog.oncancel = done(false);
    dialog.showModal();
  });
}

async function action(container, blockId, actionId, chosen, confirm) {
  if (chosen === null && !(await confirmed(confirm))) return;
  if (chosen !== null) {
    const blocksChosen = (page.choices[container.key] ||= {});
    (blocksChosen[blockId] ||= {})[actionId] = chosen;
  }
  await post("/act", {
    kind: "action", user: page.user, where: container.where, block_id: blockId,
    action_id: actionId, chosen, choices: page.choices[container.key] || {},
  });
}

async function post(path, body) {
  try {
    const answer = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const result = await answer.json();
    page.problem = result.ok ? "" : (result.problem || "That did not work.");
    return result;
  } catch (error) {
    page.problem = NOT_ANSWERING;
    return { ok: false };
  } finally {
    page.shown = "";  // draw again, with or without the problem
    refresh();
    brisk();
  }
}

function send(box, thread) {
  const text = box.value;
  if (!text.trim()) return;
  box.value = "";
  post("/act", { kind: "send", user: page.user, channel: page.place, text, thread });
}

// ---- drawing -------------------------------------------------------------------------

function message(m, channel) {
  const node = el("div", "message" + (m.is_bot ? " from-bot" : "") + (m.ephemeral ? " ephemeral" : ""));
  node.dataset.ts = m.ts;
  const head = node.appendChild(el("div", "head"));
  head.append(el("span", "author", m.author));
  if (m.is_bot) head.append(el("span", "badge", "APP"));
  if (m.ephemeral) head.append(el("span", "note", "Only visible to you"));
  if (m.edited) head.append(el("span", "note", "(edited)"));
  const container = {
    key: channel + "/" + m.ts,
    where: { channel, ts: m.ts, ephemeral: m.ephemeral },
  };
  if (m.blocks.length) node.append(blocks(m.blocks, container));
  else mrkdwn(emoji(m.text), node.appendChild(el("div", "text")));
  if (m.reply_count && channel !== null && !m.ephemeral && page.thread !== m.ts) {
    const replies = node.appendChild(el("button", "replies", m.reply_count + (m.reply_count === 1 ? " reply" : " replies")));
    replies.type = "button";
    replies.addEventListener("click", () => { page.thread = m.ts; page.shown = ""; refresh(); });
  }
  return node;
}

// Only what changed is drawn again: a click never lands on a node being replaced.
const drawn = new Map();  // a part of the page -> the JSON it was last drawn from

function changed(part, value) {
  const json = JSON.stringify(value);
  if (drawn.get(part) === json) return false;
  drawn.set(part, json);
  return true;
}

const nodes = new Map();  // "pane/place/ts" -> { json, node }: drawn once per version

function messageNode(m, place, pane) {
  const key = pane + "/" + place + "/" + m.ts;
  const json = JSON.stringify([m, page.thread === m.ts]);
  const known = nodes.get(key);
  if (known && known.json === json) return known.node;
  const node = message(m, place);
  nodes.set(key, { json, node });
  return node;
}

function showMessages(list, messages) {
  const wanted = messages.map((m) => messageNode(m, page.place, list.id));
  const same = wanted.length === list.children.length && wanted.every((n, i) => list.children[i] === n);
  if (same) return;
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
  list.replaceChildren(...wanted);
  if (atEnd) list.scrollTop = list.scrollHeight;
}

function draw(data) {
  // A place this person cannot see (another person's DM, picked just before switching
  // people) shows nothing: take them to their own DM instead.
  if (data.channel === null && page.place !== "home" && data.conversations.length) {
    go(data.conversations[0].id);
    return;
  }
  page.data = data;
  const who = $("who");
  if (changed("people", data.people)) {
    who.replaceChildren(...data.people.map((p) => { const o = el("option", "", p.name); o.value = p.id; return o; }));
  }
  who.value = page.user;
  $("now").textContent = new Date(data.now).toLocaleString("en-GB", {
    timeZone: "Europe/London", weekday: "short", day: "numeric", month: "short",
    year: "numeric", hour: "2-digit", minute: "2-digit",
  });
  $("moved").hidden = !data.clock_moved;

  const entries = [{ id: "home", name: "Home", kind: "home" }, ...data.conversations];
  if (changed("places", [entries, page.place])) {
    const places = $("places");
    places.replaceChildren();
    for (const c of entries) {
      const button = places.appendChild(el("li")).appendChild(el("button", c.kind,
        c.kind === "channel" ? "# " + c.name : c.kind === "dm" ? "✉ " + c.name : "⌂ " + c.name));
      button.type = "button";
      button.setAttribute("aria-current", String(c.id === page.place));
      button.addEventListener("click", () => go(c.id));
    }
    const here = entries.find((c) => c.id === page.place) || entries[0];
    $("title").textContent = here.kind === "channel" ? "# " + here.name
      : here.kind === "dm" ? here.name + " (your messages with the bot)" : "Partnership Check · Home";
  }

  if (changed("problems", [page.problem, data.refused])) {
    const problems = $("problems");
    problems.replaceChildren();
    if (page.problem) problems.append(el("p", "", page.problem));
    if (data.refused.length) {
      problems.append(el("p", "", "Slack refused these calls from the bot:"));
      const list = problems.appendChild(el("ul"));
      for (const r of data.refused) {
        const item = list.appendChild(el("li", "", r.method + ": " + r.error));
        if (r.details.length) item.append(el("div", "details", r.details.join("\n")));
      }
    }
  }

  const home = page.place === "home";
  $("home").hidden = !home;
  $("messages").hidden = home;
  $("composer").hidden = home;
  if (home && changed("home", data.home)) {
    const view = data.home;
    $("home").replaceChildren(view
      ? blocks(view.blocks, { key: "home", where: { view: "home" } })
      : el("p", "", "The Home tab is opening…"));
  }
  if (!home) showMessages($("messages"), data.messages);
  $("thread").hidden = !data.thread;
  if (data.thread) showMessages($("thread-messages"), [data.thread.parent, ...data.thread.replies]);
}

// One request for the state at a time: on a slow machine, polls never queue up behind
// each other, and a change asked for meanwhile is fetched right after.
const asking = { now: false, again: false };

function where() {
  const query = new URLSearchParams({ user: page.user, channel: page.place === "home" ? "" : page.place });
  if (page.thread) query.set("thread", page.thread);
  return query.toString();
}

async function refresh() {
  if (!page.user) return;
  if (asking.now) { asking.again = true; return; }
  asking.now = true;
  const query = where();
  try {
    const text = await (await fetch("/state?" + query)).text();
    // A person who moved on meanwhile sees where they are now, not where they were.
    if (query !== where()) asking.again = true;
    else if (text !== page.shown) { page.shown = text; draw(JSON.parse(text)); }
  } catch (error) {
    $("problems").textContent = NOT_ANSWERING;
  } finally {
    asking.now = false;
    if (asking.again) { asking.again = false; refresh(); }
  }
}

// The page asks for the state every 400 ms at rest, and every 50 ms for 3 s after the
// person did something: the bot's reply is on its way, and should show as it lands.
const polling = { timer: 0, briskUntil: 0 };

function schedule(ms) {
  clearTimeout(polling.timer);  // one poll waiting at a time
  polling.timer = setTimeout(poll, ms);
}

function poll() {
  polling.timer = 0;
  refresh().finally(() => { if (!polling.timer) schedule(Date.now() < polling.briskUntil ? 50 : 400); });
}

function brisk() {
  polling.briskUntil = Date.now() + 3000;
  schedule(50);
}

function go(place) {
  page.place = place;
  page.thread = null;
  page.shown = "";
  if (place === "home") post("/act", { kind: "home", user: page.user });
  else refresh();
}

async function start() {
  let first;
  try {
    first = await (await fetch("/state")).json();
  } catch (error) {  // the page was opened before the sandbox was up, or after it stopped
    $("problems").textContent = NOT_ANSWERING;
    setTimeout(start, 1000);
    return;
  }
  $("problems").textContent = "";
  page.user = first.me;
  page.place = first.conversations[0].id;
  $("who").addEventListener("change", () => {
    page.user = $("who").value;
    page.choices = {};
    nodes.clear();
    page.problem = "";
    page.data = null;
    fetch("/state?user=" + encodeURIComponent(page.user)).then((r) => r.json()).then((d) => go(d.conversations[0].id));
  });
  for (const [form, box, thread] of [["composer", "box", false], ["thread-composer", "thread-box", true]]) {
    $(form).addEventListener("submit", (event) => { event.preventDefault(); send($(box), thread ? page.thread : null); });
    $(box).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send($(box), thread ? page.thread : null); }
    });
    // The boxes open only now: an Enter pressed before this would have sent nothing.
    for (const node of $(form).elements) node.disabled = false;
  }
  $("close-thread").addEventListener("click", () => { page.thread = null; page.shown = ""; refresh(); });
  $("jump").addEventListener("click", async () => {
    $("clock-note").textContent = "Moving the clock…";
    const result = await post("/clock/next", {});
    $("clock-note").textContent = result.ok ? result.note : "";
  });
  $("jump").disabled = false;
  poll();
}

start();
