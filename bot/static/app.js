// The chat page: plain JavaScript over the HTTP API. Every text from users and documents is put
// on the page with textContent, never as HTML.
"use strict";

const TEXT = {
  ja: {
    title: "東京都 中小企業支援アドバイザー",
    intro: "東京都の中小企業施策の資料から、出典つきでお答えします。分野を選ぶか、お困りのことをそのままお書きください。",
    placeholder: "例：展示会に出たいのですが、補助はありますか",
    label: "ご質問", send: "送信", newChat: "新しい相談", lang: "English", langLabel: "Switch to English",
    you: "あなた", bot: "アドバイザー", thinking: "お調べしています…",
    up: "👍 役に立った", down: "👎 役に立たなかった", comment: "ご意見（任意）", sendComment: "送る",
    thanks: "ご意見ありがとうございました。", copy: "返信案としてコピー", copied: "返信案をコピーしました。",
    copyFailed: "コピーできませんでした。", open: "全文を表示", error: "エラー：", chips: "分野",
    programs: "関係する制度", upperLimit: "上限", rate: "助成率", period: "募集期間", desk: "窓口",
    operator: "実施主体", fiscalYear: "年度", officialPage: "公式ページ", newTab: "（新しいタブで開きます）",
    official: "公式情報", secondary: "民間の解説を含む",
    restarted: "以前の相談が見つからなかったため、新しい相談としてお答えします。",
    busy: "ただいま混み合っています。{s}秒ほどおいて、もう一度お試しください。",
    chipList: [
      ["① IT化・設備", "ITや新しい設備を入れて生産性を上げたいのですが、どんな支援がありますか"],
      ["② 販路開拓", "新しいお客さまや販路を見つけたいのですが、どんな支援がありますか"],
      ["③ 経営の安定", "経営の相談や取引のトラブルについて、どんな支援がありますか"],
      ["④ 災害・サイバー", "地震などの災害やサイバー攻撃に備えたいのですが、どんな支援がありますか"],
      ["⑤ 事業承継", "跡継ぎや事業の引継ぎについて、どんな支援がありますか"],
    ],
  },
  en: {
    title: "Tokyo SME Support Advisor",
    intro: "Answers from the Tokyo Metropolitan Government's SME policy, with sources. Pick an area or describe your situation.",
    placeholder: "e.g. Is there support for exhibiting at trade shows?",
    label: "Your question", send: "Send", newChat: "New conversation", lang: "日本語", langLabel: "日本語に切り替え",
    you: "You", bot: "Advisor", thinking: "Looking it up…",
    up: "👍 Helpful", down: "👎 Not helpful", comment: "Comment (optional)", sendComment: "Send",
    thanks: "Thank you for your feedback.", copy: "Copy as reply draft", copied: "Reply draft copied.",
    copyFailed: "Could not copy.", open: "Show passage", error: "Error: ", chips: "Areas",
    programs: "Programs in this answer", upperLimit: "Upper limit", rate: "Rate", period: "Period", desk: "Desk",
    operator: "Operator", fiscalYear: "Fiscal year", officialPage: "Official page", newTab: " (opens in a new tab)",
    official: "Official source", secondary: "Includes secondary sources",
    restarted: "The earlier conversation was not found, so this is answered as a new one.",
    busy: "The advisor is busy. Please try again in {s} seconds.",
    chipList: [
      ["① IT & equipment", "What support is there for IT and new equipment to raise productivity?"],
      ["② New customers", "What support is there for finding new customers and sales channels?"],
      ["③ Stable management", "What support is there for business consultations and unfair trading?"],
      ["④ Disasters & cyber", "What support is there for preparing for earthquakes and cyber attacks?"],
      ["⑤ Succession", "What support is there for business succession?"],
    ],
  },
};

// The conversation id is the server's: it comes in an answer and is only ever sent back, never made here.
const KEY_CONVERSATION = "smebot.conversation";
const KEY_LANG = "smebot.lang";
let lang = localStorage.getItem(KEY_LANG) === "en" ? "en" : "ja";
let conversationId = localStorage.getItem(KEY_CONVERSATION);
let busy = false;

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];
// What a failed request says to the owner: too many requests (429) or a busy server (503 with Retry-After) in their language, with its wait.
const errorText = (r, data) =>
  (r.status === 429 || (r.status === 503 && r.headers.get("retry-after"))) ? t("busy").replace("{s}", r.headers.get("retry-after") || "5") : t("error") + data.error;

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function applyLanguage() {
  document.documentElement.lang = lang;
  document.title = t("title");
  $("title").textContent = t("title");
  $("intro").textContent = t("intro");
  $("message").placeholder = t("placeholder");
  $("message-label").textContent = t("label");
  $("send").textContent = t("send");
  $("new-chat").textContent = t("newChat");
  $("lang").textContent = t("lang");
  $("lang").setAttribute("aria-label", t("langLabel"));
  $("chips").setAttribute("aria-label", t("chips"));
  const chips = $("chips");
  chips.replaceChildren();
  for (const [label, question] of t("chipList")) {
    const b = el("button", { type: "button" }, label);
    b.addEventListener("click", () => ask(question));
    chips.append(b);
  }
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function addUser(text) {
  const box = el("div", { class: "msg user" });
  box.append(el("span", { class: "who" }, t("you")), document.createTextNode(text));
  $("log").append(box);
  box.scrollIntoView({ block: "end" });
}

function addAssistant() {
  const box = el("article", { class: "msg bot" });
  const body = el("div", { class: "body" }, t("thinking"));
  box.append(el("span", { class: "who" }, t("bot")), body);
  $("log").append(box);
  return box;
}

function renderAnswer(box, data, question) {
  const body = box.querySelector(".body");
  body.textContent = data.answer;
  box.dataset.turn = data.turn;
  const english = lang === "en" || (data.intent && data.intent.language === "en");
  if (Array.isArray(data.programs) && data.programs.length) box.append(programCards(data.programs, english));
  if (data.citations && data.citations.length) {
    const cards = el("div", { class: "cards" });
    for (const c of data.citations) cards.append(card(c, english));
    box.append(cards);
  }
  if (data.choices && data.choices.length) box.append(choiceButtons(data.choices));
  if (!data.refused && data.citations && data.citations.length) box.append(actions(data, question));
  box.scrollIntoView({ block: "end" });
}

function choiceButtons(choices) {
  // a clarifying question or a check-sheet question: each choice sends its number
  const row = el("div", { class: "actions choices", role: "group" });
  for (const c of choices) {
    const b = el("button", { type: "button", "data-choice": String(c.n) }, `${c.n}. ${c.label}`);
    b.addEventListener("click", () => ask(String(c.n)));
    row.append(b);
  }
  return row;
}

// The words of a program card and a source badge: the page's language, or English for an English answer
const label = (key, english) => TEXT[english ? "en" : "ja"][key];

function sourceBadge(kind, english) {
  // official: every fact shown comes from the operator's own pages; secondary: some come from other pages
  if (kind !== "official" && kind !== "secondary") return null;
  return el("span", { class: `badge ${kind}`, "data-source-kind": kind }, label(kind, english));
}

function safeUrl(url) {
  // only web addresses become links (never javascript: or data:)
  try {
    const u = new URL(String(url));
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

function present(value) {
  return value !== null && value !== undefined && String(value).trim() !== "";
}

function programCards(programs, english) {
  // one card per program the answer relies on: the name, then only the facts the documents give
  const list = el("ul", { class: "programs", "aria-label": label("programs", english) });
  for (const p of programs) list.append(programCard(p || {}, english));
  return list;
}

function programCard(p, english) {
  const item = el("li", { class: "program", "data-source-kind": p.source_kind || "" });
  const head = el("div", { class: "program-head" });
  const title = el("h2", { class: "program-name" }, present(p.name) ? String(p.name) : String(p.name_en || ""));
  if (english && present(p.name_en) && p.name_en !== p.name) {
    title.append(el("span", { class: "program-name-en", lang: "en" }, String(p.name_en)));
  }
  head.append(title);
  const badge = sourceBadge(p.source_kind, english);
  if (badge) head.append(badge);
  item.append(head);

  const facts = el("dl", { class: "program-facts" });
  const row = (key, value) => {
    const dd = el("dd");
    if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
    facts.append(el("dt", {}, label(key, english)), dd);
  };
  if (present(p.upper_limit)) row("upperLimit", p.upper_limit);
  if (present(p.rate)) row("rate", p.rate);
  if (present(p.period)) row("period", p.period);
  if (present(p.desk) || present(p.phone)) {
    const desk = document.createDocumentFragment();
    if (present(p.desk)) desk.append(document.createTextNode(String(p.desk)));
    if (present(p.phone)) {
      const number = String(p.phone).replace(/[^0-9+]/g, "");
      if (present(p.desk)) desk.append(document.createTextNode(" "));
      desk.append(number ? el("a", { class: "phone", href: `tel:${number}` }, String(p.phone)) : document.createTextNode(String(p.phone)));
    }
    row("desk", desk);
  }
  if (present(p.operator)) row("operator", p.operator);
  if (present(p.fiscal_year)) row("fiscalYear", p.fiscal_year);
  if (facts.childElementCount) item.append(facts);

  const href = present(p.url) ? safeUrl(p.url) : null;
  if (href) {
    const link = el("a", { class: "official-link", href, target: "_blank", rel: "noopener noreferrer" }, label("officialPage", english));
    link.append(el("span", { class: "visually-hidden" }, label("newTab", english)));
    item.append(link);
  }
  return item;
}

function card(c, english = lang === "en") {
  const wrap = el("div", { class: "card" });
  const id = `passage-${Math.random().toString(36).slice(2)}`;
  const head = el("button", { type: "button", "aria-expanded": "false", "aria-controls": id, title: t("open") });
  const where = `[${c.n}] ${c.section}${c.page ? ` p.${c.page}` : ""}`;
  head.append(el("span", { class: "section" }, where));
  const badge = sourceBadge(c.source_kind, english);
  if (badge) head.append(" ", badge);
  head.append(el("br"), el("span", { class: "excerpt" }, c.text.length > 70 ? `${c.text.slice(0, 70)}…` : c.text));
  const passage = el("div", { class: "passage", id, hidden: "" }, `${c.text}\n\n${c.title} — ${c.source}`);
  head.addEventListener("click", () => {
    const open = head.getAttribute("aria-expanded") === "true";
    head.setAttribute("aria-expanded", String(!open));
    passage.hidden = open;
  });
  wrap.append(head, passage);
  return wrap;
}

function actions(data, question) {
  const row = el("div", { class: "actions" });
  const up = el("button", { type: "button", "aria-pressed": "false", "data-rating": "up" }, t("up"));
  const down = el("button", { type: "button", "aria-pressed": "false", "data-rating": "down" }, t("down"));
  const copy = el("button", { type: "button", class: "copy-draft" }, t("copy"));
  for (const b of [up, down]) b.addEventListener("click", () => feedback(row, data, b));
  copy.addEventListener("click", () => copyDraft(question));
  row.append(up, down, copy);
  return row;
}

async function feedback(row, data, button) {
  for (const b of row.querySelectorAll("[data-rating]")) b.setAttribute("aria-pressed", String(b === button));
  const send = async (comment) => {
    const r = await fetch("/api/feedback", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ conversation_id: data.conversation_id, turn: data.turn, rating: button.dataset.rating, comment }),
    });
    status(r.ok ? t("thanks") : errorText(r, await r.json()), !r.ok);
  };
  await send("");
  if (row.nextElementSibling && row.nextElementSibling.classList.contains("comment")) return;
  const form = el("form", { class: "comment" });
  const input = el("input", { type: "text", maxlength: "2000", "aria-label": t("comment"), placeholder: t("comment") });
  form.append(input, el("button", { type: "submit" }, t("sendComment")));
  form.addEventListener("submit", async (e) => { e.preventDefault(); await send(input.value); form.remove(); });
  row.after(form);
  input.focus();
}

async function copyDraft(question) {
  const r = await fetch("/api/draft", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inquiry: question }),
  });
  const data = await r.json();
  if (!r.ok) return status(errorText(r, data), true);
  const text = `${data.draft}\n\n${data.checks.map((c) => `□ ${c}`).join("\n")}`;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) return status(t("copyFailed"), true);
  }
  status(t("copied"));
}

async function ask(message) {
  message = message.trim();
  if (!message || busy) return;
  busy = true;
  $("send").disabled = true;
  status("");
  addUser(message);
  const box = addAssistant();
  const body = box.querySelector(".body");
  const send = () => fetch("/api/chat/stream", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, conversation_id: conversationId }),
  });
  try {
    let r = await send();
    if (r.status === 404 && conversationId) {
      // the server no longer holds this conversation: say so and answer in a new one it will issue
      forgetConversation();
      status(t("restarted"));
      r = await send();
    }
    if (!r.ok) {
      body.textContent = errorText(r, await r.json());
      box.classList.add("error");
      return;
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let started = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const kind = (block.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "{}");
        if (kind === "delta") {
          if (!started) { body.textContent = ""; started = true; }
          body.textContent += data.text;
        } else if (kind === "done") {
          conversationId = data.conversation_id;
          localStorage.setItem(KEY_CONVERSATION, conversationId);
          renderAnswer(box, data, message);
        } else if (kind === "error") {
          body.textContent = t("error") + data.error;
        }
      }
    }
  } catch (e) {
    body.textContent = t("error") + e;
  } finally {
    busy = false;
    $("send").disabled = false;
  }
}

async function restore() {
  if (!conversationId) return;
  const r = await fetch(`/api/conversations/${encodeURIComponent(conversationId)}`);
  if (!r.ok) { forgetConversation(); return; }
  const data = await r.json();
  for (const turn of data.turns) {
    addUser(turn.question);
    renderAnswer(addAssistant(), turn.answer, turn.question);
  }
}

$("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const message = $("message").value;
  $("message").value = "";
  ask(message);
});
$("message").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("ask").requestSubmit(); }
});
function forgetConversation() {
  localStorage.removeItem(KEY_CONVERSATION);
  conversationId = null;
}

$("new-chat").addEventListener("click", () => {
  forgetConversation();
  $("log").replaceChildren();
  status("");
  $("message").focus();
});
$("lang").addEventListener("click", () => {
  lang = lang === "ja" ? "en" : "ja";
  localStorage.setItem(KEY_LANG, lang);
  applyLanguage();
});

// For tests and embedding: show an answer payload (the `done` event's data) as if it had been streamed
window.smebot = Object.freeze({
  showAnswer(data, question = "") {
    addUser(question);
    const box = addAssistant();
    renderAnswer(box, data, question);
    return box;
  },
});

applyLanguage();
restore();
