// Light formatting of an answer's text, built as DOM nodes: never innerHTML, so a document or a
// question holding markup is shown as text. Lines become paragraphs; lines opening with ・ or "- "
// become a list; figures (amounts, rates) and the names of the answer's programs are bold; [n]
// becomes a link to citation n. Also: the follow-up questions an answer's programs can answer.
"use strict";

const SmebotFormat = (() => {
  const BULLET = /^\s*(?:・|- |• |\* )/;
  const NOTE = /^\s*(?:※|Note:)/;
  // 1,500万円, JPY 1.5 million, 150万円, 10万円以上, 2/3以内, 1/2, 50%, 300万円
  const FIGURE = String.raw`(?:JPY\s?[\d,.]+(?:\s?(?:million|billion|thousand))?|[\d,，.０-９]+\s?(?:億|万|千)?円|\d+\s?\/\s?\d+(?:以内)?|\d+(?:\.\d+)?\s?[%％])`;
  const CITE = String.raw`\[(\d{1,2})\]`;

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function names(programs) {
    // the longest first, so a name that contains another is matched whole
    const out = new Set();
    for (const p of programs || []) {
      for (const n of [p && p.name, p && p.name_en]) if (n && String(n).trim().length >= 2) out.add(String(n).trim());
    }
    return [...out].sort((a, b) => b.length - a.length);
  }

  function pattern(programs) {
    const parts = [CITE, FIGURE];
    const known = names(programs).map(escapeRegExp);
    if (known.length) parts.unshift(known.join("|"));
    return new RegExp(parts.map((p) => `(${p})`).join("|"), "g");
  }

  // One line's inline content: text nodes, <strong> for figures and program names, <a> for [n].
  function inline(line, re, cite) {
    const frag = document.createDocumentFragment();
    let last = 0;
    re.lastIndex = 0;
    for (let m; (m = re.exec(line)); ) {
      if (m[0] === "") { re.lastIndex++; continue; }
      if (m.index > last) frag.append(document.createTextNode(line.slice(last, m.index)));
      const n = (m[0].match(/^\[(\d{1,2})\]$/) || [])[1];
      if (n && cite) frag.append(cite(Number(n)) || document.createTextNode(m[0]));
      else if (n) frag.append(document.createTextNode(m[0]));
      else {
        const strong = document.createElement("strong");
        strong.textContent = m[0];
        frag.append(strong);
      }
      last = m.index + m[0].length;
    }
    if (last < line.length) frag.append(document.createTextNode(line.slice(last)));
    return frag;
  }

  // The answer's text as paragraphs and lists. `cite(n)` makes the node for a [n] marker (or null).
  function answer(text, { programs = [], cite = null } = {}) {
    const frag = document.createDocumentFragment();
    const re = pattern(programs);
    let list = null;
    for (const raw of String(text || "").split("\n")) {
      const line = raw.trimEnd();
      if (!line.trim()) { list = null; continue; }
      if (BULLET.test(line)) {
        if (!list) { list = document.createElement("ul"); frag.append(list); }
        const li = document.createElement("li");
        li.append(inline(line.replace(BULLET, ""), re, cite));
        list.append(li);
        continue;
      }
      list = null;
      const p = document.createElement("p");
      if (NOTE.test(line)) p.className = "note";
      p.append(inline(line, re, cite));
      frag.append(p);
    }
    return frag;
  }

  // Plain text for a screen reader's announcement: the answer without its [n] markers.
  function spoken(text) {
    return String(text || "").replace(/\s?\[\d{1,2}\]/g, "").replace(/\n+/g, " ").trim();
  }

  const FOLLOW_UPS = [
    // [what the answer asked already, the program facts that can answer it, Japanese, English]
    ["upper_limit", (p) => p.upper_limit, "上限は？", "What is the upper limit?"],
    ["how_to_apply", (p) => p.how_to_apply, "申請方法は？", "How do I apply?"],
    ["contact", (p) => p.desk || p.phone, "窓口は？", "Who should I contact?"],
  ];

  // Follow-ups the answer's lead program can answer (a follow-up is resolved to it), not the one just asked.
  function followUps(data, english) {
    if (!data || data.refused || !Array.isArray(data.programs) || !data.programs.length) return [];
    const lead = data.programs[0] || {};
    const asked = (data.intent && data.intent.asks) || "";
    return FOLLOW_UPS.filter(([slot, has]) => slot !== asked && has(lead)).map(([, , ja, en]) => (english ? en : ja));
  }

  return Object.freeze({ answer, spoken, followUps });
})();
