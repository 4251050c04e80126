// The chat page: plain JavaScript over the HTTP API. Every text from users and documents is put
// on the page as text nodes (textContent, or format.js's DOM building), never as HTML.
"use strict";

const TEXT = {
  ja: {
    title: "東京都 中小企業支援アドバイザー",
    intro: "東京都の中小企業施策の資料から、出典つきでお答えします。分野を選ぶか、お困りのことをそのままお書きください。",
    placeholder: "例：展示会に出たいのですが、補助はありますか",
    label: "ご質問", send: "送信", stop: "停止", newChat: "新しい相談", lang: "English", langLabel: "Switch to English",
    form: "ご質問の入力", log: "会話",
    you: "あなた", bot: "アドバイザー", thinking: "お調べしています…",
    up: "👍 役に立った", down: "👎 役に立たなかった", comment: "ご意見（任意）", sendComment: "送る",
    thanks: "ご意見ありがとうございました。", copy: "返信案としてコピー", copied: "返信案をコピーしました。",
    copyAnswer: "回答をコピー", answerCopied: "回答をコピーしました。", regenerate: "もう一度回答する",
    edit: "編集して送り直す", editing: "質問を入力欄に戻しました。直して送信してください。",
    copyFailed: "コピーできませんでした。", open: "全文を表示", error: "エラー：", chips: "分野",
    programs: "関係する制度", upperLimit: "上限", rate: "助成率", period: "募集期間", desk: "窓口",
    operator: "実施主体", fiscalYear: "年度", officialPage: "公式ページ", newTab: "（新しいタブで開きます）",
    official: "公式情報", secondary: "民間の解説を含む", citations: "出典", cite: "出典{n}を見る",
    followUps: "続けて聞く", stopped: "回答を途中で止めました。", queued: "送信待ち",
    queuedStatus: "前の回答のあとに、順にお送りします（{n}件）。",
    newAnswer: "アドバイザーの回答です。", history: "相談の一覧", historyTitle: "これまでの相談",
    historyEmpty: "まだ相談はありません。", remove: "削除", removeLabel: "「{t}」を削除", current: "（表示中）",
    removed: "相談を削除しました。", notFound: "この相談はサーバーに残っていませんでした。",
    footnote: "東京都の公表資料と各制度の案内をもとにお答えしています。申請の前に、実施機関の最新の募集要項をご確認ください。",
    restarted: "以前の相談が見つからなかったため、新しい相談としてお答えします。",
    busy: "ただいま混み合っています。{s}秒ほどおいて、もう一度お試しください。",
    masked: "記録には伏せて残しました：{what}。", myNumber: "マイナンバーは入力しないでください（記録には残していません）。",
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
    label: "Your question", send: "Send", stop: "Stop", newChat: "New conversation", lang: "日本語", langLabel: "日本語に切り替え",
    form: "Ask a question", log: "Conversation",
    you: "You", bot: "Advisor", thinking: "Looking it up…",
    up: "👍 Helpful", down: "👎 Not helpful", comment: "Comment (optional)", sendComment: "Send",
    thanks: "Thank you for your feedback.", copy: "Copy as reply draft", copied: "Reply draft copied.",
    copyAnswer: "Copy answer", answerCopied: "Answer copied.", regenerate: "Answer again",
    edit: "Edit and resend", editing: "Your question is back in the box: edit it and send.",
    copyFailed: "Could not copy.", open: "Show passage", error: "Error: ", chips: "Areas",
    programs: "Programs in this answer", upperLimit: "Upper limit", rate: "Rate", period: "Period", desk: "Desk",
    operator: "Operator", fiscalYear: "Fiscal year", officialPage: "Official page", newTab: " (opens in a new tab)",
    official: "Official source", secondary: "Includes secondary sources", citations: "Sources", cite: "See source {n}",
    followUps: "Ask next", stopped: "The answer was stopped.", queued: "Waiting to send",
    queuedStatus: "Will be sent after the current answer ({n} waiting).",
    newAnswer: "The advisor's answer.", history: "Conversations", historyTitle: "Your conversations",
    historyEmpty: "No conversations yet.", remove: "Delete", removeLabel: "Delete “{t}”", current: " (shown)",
    removed: "The conversation was deleted.", notFound: "The server no longer holds this conversation.",
    footnote: "Answers are drawn from Tokyo's published documents and program guides. Check the operator's latest guidelines before applying.",
    restarted: "The earlier conversation was not found, so this is answered as a new one.",
    busy: "The advisor is busy. Please try again in {s} seconds.",
    masked: "Kept masked in the record: {what}.", myNumber: "Please do not type your My Number (it was not kept).",
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
const KEY_LIST = "smebot.conversations"; // [{id, title, updated}], newest first: this browser's conversations
const KEY_LANG = "smebot.lang";
let lang = localStorage.getItem(KEY_LANG) === "en" ? "en" : "ja";
let conversationId = localStorage.getItem(KEY_CONVERSATION);
let busy = false;
let controller = null; // the AbortController of the answer being streamed
const queue = []; // questions sent while an answer was pending: [{message, bubble}]
let boxes = 0; // numbers each answer's element ids

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];
const fill = (s, values) => s.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
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
  $("footnote").textContent = t("footnote");
  $("message").placeholder = t("placeholder");
  $("message-label").textContent = t("label");
  $("ask").setAttribute("aria-label", t("form"));
  $("log").setAttribute("aria-label", t("log"));
  $("send").textContent = t("send");
  $("stop").textContent = t("stop");
  $("new-chat").textContent = t("newChat");
  $("history-toggle").textContent = t("history");
  $("history-title").textContent = t("historyTitle");
  $("history-empty").textContent = t("historyEmpty");
  $("lang").textContent = t("lang");
  $("lang").setAttribute("aria-label", t("langLabel"));
  $("chips").setAttribute("aria-label", t("chips"));
  const chips = $("chips");
  chips.replaceChildren();
  for (const [label, question] of t("chipList")) {
    const b = el("button", { type: "button" }, label);
    b.addEventListener("click", () => submit(question));
    chips.append(b);
  }
  renderHistory();
}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// -- scrolling: the start of each new answer comes into view and stays there --------------------

function nearTop(node) {
  // its first line in the upper half of the conversation pane: where a reader starts reading
  const box = node.getBoundingClientRect();
  const view = $("scroller").getBoundingClientRect();
  return box.top >= view.top - 1 && box.top <= view.top + view.height / 2;
}

let readerScrolled = false; // the reader moved the pane since the newest answer began: leave it where they put it
for (const kind of ["wheel", "touchmove", "keydown"]) {
  $("scroller").addEventListener(kind, () => { readerScrolled = true; }, { passive: true });
}

function showStart(box, always = false) {
  // the answer's first line at the top of the pane (its question's end just above it, by scroll-margin)
  if (always) readerScrolled = false;
  if (always || (!readerScrolled && !nearTop(box))) box.scrollIntoView({ block: "start", behavior: "instant" });
}

// -- messages ------------------------------------------------------------------------------------

function addUser(text, { pending = false } = {}) {
  const box = el("div", { class: "msg user" });
  const who = el("span", { class: "who" }, t("you"));
  if (pending) who.append(el("span", { class: "queued" }, ` · ${t("queued")}`));
  const edit = el("button", { type: "button", class: "edit", "aria-label": `${t("edit")}: ${text.slice(0, 40)}` }, t("edit"));
  edit.addEventListener("click", () => {
    $("message").value = text;
    $("message").focus();
    status(t("editing"));
  });
  box.append(who, el("span", { class: "text" }, text), edit);
  $("log").append(box);
  return box;
}

function addAssistant() {
  boxes += 1;
  const box = el("article", { class: "msg bot", id: `answer-${boxes}`, "aria-busy": "true" });
  const body = el("div", { class: "body", "data-state": "thinking" }, t("thinking"));
  box.append(el("span", { class: "who" }, t("bot")), body);
  $("log").append(box);
  return box;
}

const englishAnswer = (data) => lang === "en" || (data.intent && data.intent.language === "en");

function renderAnswer(box, data, question, { last = true } = {}) {
  const body = box.querySelector(".body");
  const english = englishAnswer(data);
  box.replaceChildren(box.querySelector(".who"), body);
  box.lang = english ? "en" : "ja";
  box.removeAttribute("aria-busy");
  box.dataset.turn = data.turn;
  const citations = Array.isArray(data.citations) ? data.citations : [];
  const known = new Set(citations.map((c) => c.n));
  body.replaceChildren(SmebotFormat.answer(data.answer, {
    programs: data.programs,
    cite: (n) => known.has(n) ? citeLink(box, n, english) : null,
  }));
  body.dataset.state = "done";
  if (Array.isArray(data.programs) && data.programs.length) box.append(programCards(data.programs, english));
  if (citations.length) {
    const cards = el("div", { class: "cards", role: "group", "aria-label": label("citations", english) });
    for (const c of citations) cards.append(card(box, c, english));
    box.append(cards);
  }
  if (data.choices && data.choices.length) box.append(choiceButtons(data.choices));
  if (last) {
    const next = SmebotFormat.followUps(data, english);
    if (next.length) box.append(followUpButtons(next, english));
  }
  if (data.masked && Object.keys(data.masked).length) box.append(maskedNote(data.masked, english));
  if (data.answer) box.append(actions(box, data, question, english));
}

// What the owner typed that the record keeps masked: the masks and how many, never the values.
function maskedNote(masked, english) {
  const what = Object.entries(masked).map(([mask, n]) => n > 1 ? `${mask}×${n}` : mask).join(english ? ", " : "、");
  const note = el("p", { class: "masked-note", role: "note" }, fill(label("masked", english), { what }));
  if (masked["［個人番号］"]) note.append(" ", label("myNumber", english));
  return note;
}

function citeLink(box, n, english) {
  const a = el("a", { class: "cite", href: `#${box.id}-c${n}`, "aria-label": fill(label("cite", english), { n }) }, `[${n}]`);
  a.addEventListener("click", (e) => {
    e.preventDefault();
    const target = document.getElementById(`${box.id}-c${n}`);
    if (!target) return;
    openCard(target, true);
    target.scrollIntoView({ block: "nearest", behavior: "instant" });
    target.querySelector("button").focus({ preventScroll: true });
  });
  return a;
}

function choiceButtons(choices) {
  // a clarifying question or a check-sheet question: each choice sends its number
  const row = el("div", { class: "actions choices", role: "group" });
  for (const c of choices) {
    const b = el("button", { type: "button", "data-choice": String(c.n) }, `${c.n}. ${c.label}`);
    b.addEventListener("click", () => submit(String(c.n)));
    row.append(b);
  }
  return row;
}

function followUpButtons(questions, english) {
  const row = el("div", { class: "actions follow-ups", role: "group", "aria-label": label("followUps", english) });
  for (const q of questions) {
    const b = el("button", { type: "button", class: "follow-up" }, q);
    b.addEventListener("click", () => submit(q));
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

function officialLink(url, english, cls = "official-link") {
  const href = present(url) ? safeUrl(url) : null;
  if (!href) return null;
  const link = el("a", { class: cls, href, target: "_blank", rel: "noopener noreferrer" }, label("officialPage", english));
  link.append(el("span", { class: "visually-hidden" }, label("newTab", english)));
  return link;
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
  const link = officialLink(p.url, english);
  if (link) item.append(link);
  return item;
}

function citationName(c, english) {
  // the core's label (program or document, and section); else the program and the section's last part
  if (present(c.label)) return String(c.label);
  const section = String(c.section || "").split(" > ").pop();
  if (present(c.program)) return section && section !== c.program ? `${c.program}（${section}）` : String(c.program);
  return section || String(c.title || "");
}

function openCard(wrap, open) {
  const head = wrap.querySelector("button");
  head.setAttribute("aria-expanded", String(open));
  wrap.querySelector(".passage").hidden = !open;
}

function card(box, c, english) {
  const wrap = el("div", { class: "card", id: `${box.id}-c${c.n}`, tabindex: "-1" });
  const id = `${box.id}-p${c.n}`;
  const head = el("button", { type: "button", "aria-expanded": "false", "aria-controls": id, title: label("open", english) });
  head.append(el("span", { class: "section" }, `[${c.n}] ${citationName(c, english)}${c.page ? ` p.${c.page}` : ""}`));
  const badge = sourceBadge(c.source_kind, english);
  if (badge) head.append(" ", badge);
  const text = String(c.text || "");
  head.append(el("br"), el("span", { class: "excerpt" }, text.length > 70 ? `${text.slice(0, 70)}…` : text));
  const passage = el("div", { class: "passage", id, hidden: "" }, text);
  head.addEventListener("click", () => openCard(wrap, head.getAttribute("aria-expanded") !== "true"));
  wrap.append(head, passage);
  const link = officialLink(c.url, english, "official-link cite-link");
  if (link) wrap.append(link);
  return wrap;
}

function actions(box, data, question, english) {
  const row = el("div", { class: "actions" });
  const buttons = [];
  if (!data.refused && data.citations && data.citations.length && data.conversation_id !== undefined) {
    const up = el("button", { type: "button", "aria-pressed": "false", "data-rating": "up" }, label("up", english));
    const down = el("button", { type: "button", "aria-pressed": "false", "data-rating": "down" }, label("down", english));
    for (const b of [up, down]) b.addEventListener("click", () => feedback(row, data, b, english));
    buttons.push(up, down);
  }
  const copy = el("button", { type: "button", class: "copy-answer" }, label("copyAnswer", english));
  copy.addEventListener("click", () => copyAnswer(data, english));
  buttons.push(copy);
  if (!data.refused && data.citations && data.citations.length) {
    const draft = el("button", { type: "button", class: "copy-draft" }, label("copy", english));
    draft.addEventListener("click", () => copyDraft(question, data));
    buttons.push(draft);
  }
  if (question) {
    const again = el("button", { type: "button", class: "regenerate" }, label("regenerate", english));
    again.addEventListener("click", () => regenerate(box, question));
    buttons.push(again);
  }
  row.append(...buttons);
  return row;
}

async function feedback(row, data, button, english) {
  for (const b of row.querySelectorAll("[data-rating]")) b.setAttribute("aria-pressed", String(b === button));
  const send = async (comment) => {
    const r = await fetch("/api/feedback", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ conversation_id: data.conversation_id, turn: data.turn, rating: button.dataset.rating, comment }),
    });
    status(r.ok ? label("thanks", english) : errorText(r, await r.json()), !r.ok);
  };
  await send("");
  if (row.nextElementSibling && row.nextElementSibling.classList.contains("comment")) return;
  const form = el("form", { class: "comment" });
  const input = el("input", { type: "text", maxlength: "2000", "aria-label": label("comment", english), placeholder: label("comment", english) });
  form.append(input, el("button", { type: "submit" }, label("sendComment", english)));
  form.addEventListener("submit", async (e) => { e.preventDefault(); await send(input.value); form.remove(); });
  row.after(form);
  input.focus();
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

async function copyAnswer(data, english) {
  const sources = (data.citations || []).map((c) => `[${c.n}] ${citationName(c, english)}${present(c.url) ? ` ${c.url}` : ""}`);
  const text = sources.length ? `${data.answer}\n\n${label("citations", english)}:\n${sources.join("\n")}` : data.answer;
  if (await copyText(text)) status(label("answerCopied", english)); else status(t("copyFailed"), true);
}

async function copyDraft(question, data) {
  // with the conversation: the draft holds the answer it gave (a follow-up is not asked again alone)
  const request = { inquiry: question };
  if (data.conversation_id) Object.assign(request, { conversation_id: data.conversation_id, turn: data.turn });
  const r = await fetch("/api/draft", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request),
  });
  const result = await r.json();
  if (!r.ok) return status(errorText(r, result), true);
  const text = `${result.draft}\n\n${result.checks.map((c) => `□ ${c}`).join("\n")}`;
  if (await copyText(text)) status(t("copied")); else status(t("copyFailed"), true);
}

// -- asking: one answer at a time; what is sent meanwhile waits its turn --------------------------

function setBusy(on) {
  busy = on;
  $("stop").hidden = !on;
  $("ask").setAttribute("aria-busy", String(on));
}

function submit(message) {
  message = String(message || "").trim();
  if (!message) return;
  if (busy) {
    queue.push({ message, bubble: addUser(message, { pending: true }) });
    status(fill(t("queuedStatus"), { n: queue.length }));
    return;
  }
  ask(message);
}

function regenerate(box, question) {
  if (busy) return submit(question);
  ask(question, { box });
}

async function ask(message, { bubble = null, box = null } = {}) {
  setBusy(true);
  status("");
  if (bubble) bubble.querySelector(".queued")?.remove();
  else if (!box) addUser(message);
  if (box) {
    box.replaceChildren(el("span", { class: "who" }, t("bot")), el("div", { class: "body", "data-state": "thinking" }, t("thinking")));
    box.setAttribute("aria-busy", "true");
    delete box.dataset.turn;
  } else {
    box = addAssistant();
  }
  for (const old of document.querySelectorAll(".follow-ups")) old.remove(); // only the newest answer suggests
  showStart(box, true);
  const body = box.querySelector(".body");
  controller = new AbortController();
  const send = () => fetch("/api/chat/stream", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, conversation_id: conversationId }),
    signal: controller.signal,
  });
  let text = "";
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
      body.dataset.state = "error";
      box.classList.add("error");
      return;
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
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
          text += data.text;
          body.textContent = text;
          body.dataset.state = "streaming";
        } else if (kind === "done") {
          remember(data.conversation_id, message);
          renderAnswer(box, data, message);
          showStart(box);
          announce(data);
        } else if (kind === "error") {
          body.textContent = t("error") + data.error;
          body.dataset.state = "error";
        }
      }
    }
  } catch (e) {
    if (e.name === "AbortError") {
      // what was written so far stays; the server keeps no turn for an answer its reader left
      body.textContent = text;
      body.append(el("p", { class: "stopped" }, t("stopped")));
      body.dataset.state = "stopped";
      status(t("stopped"));
    } else {
      body.textContent = t("error") + e;
      body.dataset.state = "error";
    }
  } finally {
    box.removeAttribute("aria-busy");
    controller = null;
    setBusy(false);
    const next = queue.shift();
    if (next) {
      status(queue.length ? fill(t("queuedStatus"), { n: queue.length }) : "");
      ask(next.message, { bubble: next.bubble });
    }
  }
}

function announce(data) {
  // the polite live region holds only the newest answer, never the whole log
  const english = englishAnswer(data);
  $("announce").textContent = `${label("newAnswer", english)} ${SmebotFormat.spoken(data.answer)}`;
}

// -- conversations kept in this browser ---------------------------------------------------------

function conversations() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY_LIST) || "[]");
    return Array.isArray(list) ? list.filter((c) => c && typeof c.id === "string") : [];
  } catch {
    return [];
  }
}

function saveConversations(list) {
  localStorage.setItem(KEY_LIST, JSON.stringify(list.slice(0, 50)));
  renderHistory();
}

function remember(id, question) {
  if (!id) return;
  conversationId = id;
  localStorage.setItem(KEY_CONVERSATION, id);
  const list = conversations();
  const found = list.find((c) => c.id === id);
  const entry = found || { id, title: question.slice(0, 40) };
  entry.updated = Date.now();
  saveConversations([entry, ...list.filter((c) => c.id !== id)]);
}

function renderHistory() {
  const list = $("history-list");
  const items = conversations();
  $("history-empty").hidden = items.length > 0;
  list.replaceChildren();
  for (const c of items) {
    const li = el("li", { class: "history-item" });
    const open = el("button", { type: "button", class: "history-open" }, c.title || c.id.slice(0, 8));
    if (c.id === conversationId) {
      open.setAttribute("aria-current", "true");
      open.append(el("span", { class: "visually-hidden" }, t("current")));
    }
    open.addEventListener("click", () => switchTo(c.id));
    const remove = el("button", { type: "button", class: "history-delete", "aria-label": fill(t("removeLabel"), { t: c.title || "" }) }, t("remove"));
    remove.addEventListener("click", () => removeConversation(c.id));
    li.append(open, remove);
    list.append(li);
  }
}

function clearLog() {
  $("log").replaceChildren();
  $("announce").textContent = "";
}

async function switchTo(id) {
  if (busy && controller) controller.abort();
  queue.length = 0;
  conversationId = id;
  localStorage.setItem(KEY_CONVERSATION, id);
  clearLog();
  renderHistory();
  await restore();
  if (narrow()) toggleHistory(false);
  $("message").focus();
}

async function removeConversation(id) {
  const r = await fetch(`/api/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (!r.ok && r.status !== 404) return status(errorText(r, await r.json()), true);
  saveConversations(conversations().filter((c) => c.id !== id));
  if (id === conversationId) {
    forgetConversation();
    clearLog();
  }
  status(t("removed"));
}

function forgetConversation() {
  localStorage.removeItem(KEY_CONVERSATION);
  conversationId = null;
  renderHistory();
}

async function restore() {
  if (!conversationId) return;
  const r = await fetch(`/api/conversations/${encodeURIComponent(conversationId)}`);
  if (!r.ok) {
    if (r.status === 404) {
      saveConversations(conversations().filter((c) => c.id !== conversationId));
      status(t("notFound"));
    }
    forgetConversation();
    return;
  }
  const data = await r.json();
  data.turns.forEach((turn, i) => {
    addUser(turn.question);
    const box = addAssistant();
    renderAnswer(box, { ...turn.answer, turn: turn.turn }, turn.question, { last: i === data.turns.length - 1 });
  });
  const answers = document.querySelectorAll(".msg.bot");
  if (answers.length) showStart(answers[answers.length - 1]);
}

// -- the page's controls -------------------------------------------------------------------------

const narrow = () => window.matchMedia("(max-width: 760px)").matches;

function toggleHistory(open) {
  $("history").hidden = !open;
  $("history-toggle").setAttribute("aria-expanded", String(open));
}

$("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const message = $("message").value;
  $("message").value = "";
  submit(message);
});
$("message").addEventListener("keydown", (e) => {
  // Enter sends, Shift+Enter breaks the line; an Enter that confirms an IME conversion never sends
  // (Safari reports it as keyCode 229 with isComposing false)
  if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
  e.preventDefault();
  $("ask").requestSubmit();
});
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
$("new-chat").addEventListener("click", () => {
  if (busy && controller) controller.abort();
  queue.length = 0;
  forgetConversation();
  clearLog();
  status("");
  if (narrow()) toggleHistory(false);
  $("message").focus();
});
$("history-toggle").addEventListener("click", () => toggleHistory($("history").hidden));
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

toggleHistory(!narrow());
applyLanguage();
restore();
