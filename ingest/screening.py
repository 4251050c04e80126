"""Screening at ingest: what a document may say to an owner, decided once, before anything is indexed.

A file in corpus/ is data, never a voice of the advisor. Three checks:

- **Who stands behind it** (`trust`, set by the loaders): `program` for a guide whose front matter is
  complete and valid (program, facts, sources with kinds) and for jGrants records; `sourced` for a
  document whose metadata names its sources (or its publisher, in a sidecar); `unknown` for
  anything else, which is indexed as an ordinary document: no program card, no official label.
- **Text that addresses the assistant** (「これまでの指示を無視して…」, "ignore previous
  instructions", system-prompt talk, chat-role markers): such a passage is dropped, never indexed,
  so no answer, search result or language model ever reads it. A document of unknown source that
  holds one is rejected whole: the rest of it is the payload the injection was there to push.
- **Links**: a URL, a bare host or an e-mail address in a passage stays only when its host is one
  the corpus's sourced documents name (their `sources`, their facts' addresses, jGrants records'
  pages) or the operator allows (SMEBOT_LINK_HOSTS); any other is replaced by 「（URL省略）」, so
  a passage never carries a phishing address to an owner.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

PROGRAM, SOURCED, UNKNOWN = "program", "sourced", "unknown"
TRUST_LABELS = {PROGRAM: "program guide", SOURCED: "document of known source", UNKNOWN: "document of unknown source"}
LINK_REMOVED = "（URL省略）"
MAIL_REMOVED = "（メールアドレス省略）"

# --- text that addresses the assistant ----------------------------------------------------------

# Read on the passage NFKC-folded (ｉｇｎｏｒｅ = ignore, ＡＩ = AI) and lower-cased; the Japanese
# patterns also on a copy without any space (「指示 を 無視」).
_JA = [
    r"(?:これまで|今まで|いままで|以前|前|上記|先|最初|元|全て|すべて|他|ほか|あらゆる)の?(?:指示|命令|指令|ルール|規則|設定|プロンプト|制約|制限)(?:は|を|も)?(?:すべて|全て|一旦|いったん)?(?:無視|忘れ|破棄|取り消|無効|解除)",
    r"(?:指示|命令|プロンプト|制約)を(?:すべて|全て)?(?:無視|忘れ)(?:てください|してください|なさい|せよ|しろ|ろ|ること)",
    r"システム・?プロンプト",
    r"(?:ai|アシスタント|チャットボット|ボット|言語モデル|llm|gpt|chatgpt|claude)(?:への|に対する|向けの)(?:指示|命令|お願い|メッセージ)",
    r"(?:ai|アシスタント|チャットボット|言語モデル)(?:は|よ|へ|に)、?(?:必ず|以下|次の|これから|今から)",
    r"(?:あなた|君|きみ|お前)は(?:今から|これから|以後|今後)",
    r"開発者モード|脱獄",
]
_EN = [
    (
        r"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|of\s+)*"
        r"(?:previous|prior|above|earlier|preceding|former|existing|system|original|initial)\s+"
        r"(?:instructions?|prompts?|rules|directions|guidelines|messages|context|directives)"
    ),
    r"\b(?:ignore|disregard|forget)\s+(?:all|everything|your)\s+(?:instructions?|rules|you\s+(?:were|have\s+been)\s+told)",
    r"\bsystem\s*prompt",
    r"\b(?:reveal|print|show|repeat|output)\s+(?:me\s+)?(?:your|the)\s+(?:hidden\s+|initial\s+|original\s+)?(?:prompt|instructions)",
    r"\byou\s+are\s+now\b",
    r"\bnew\s+instructions\s*:",
    r"\b(?:developer|dan|jailbreak)\s+mode\b",
    r"\bjailbreak",
    r"\bas\s+an?\s+(?:ai|a\.i\.)\s+(?:language\s+model|assistant)",
]
# markers of a chat's roles or a prompt's blocks: text that tries to stand outside its passage
_MARKERS = [
    r"<\|?(?:im_start|im_end|system|assistant|user|endoftext)\|?>",
    r"\[/?inst\]",
    r"<<\s*/?sys\s*>>",
    r"</?\s*passages\s*>",
    r"###\s*(?:instruction|system|response)",
    r"(?m)^\s*(?:system|assistant|user|developer)\s*[:：]",
]
_JA_RE = [re.compile(p) for p in _JA]
_EN_RE = [re.compile(p) for p in _EN + _MARKERS]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def addresses_assistant(text: str) -> str | None:
    """The words by which `text` addresses the assistant (its instructions, its prompt, its role),
    or None. Documents for owners speak about programs, never to the one reading them out."""
    folded = _fold(text)
    tight = re.sub(r"\s+", "", folded)
    for pattern in _JA_RE:
        m = pattern.search(tight)
        if m:
            return m.group(0)
    for pattern in _EN_RE:
        m = pattern.search(folded)
        if m:
            return m.group(0).strip()
    return None


# --- links --------------------------------------------------------------------------------------

# ASCII and full-width forms alike: ｈｔｔｐｓ：／／ is folded before its host is read
_W = r"A-Za-z0-9\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A"
# full-width: letters, digits and the URL's own marks, never （）、。 that follow a link in Japanese text
_URL_CHARS = rf"A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%{_W[9:]}．／－＿＠％＝＆？＃～："
# one pass, leftmost first: a whole URL, an e-mail address, or a bare host (www.example.com,
# evil.example.net/login: two labels or more and a letter TLD, not inside a longer word)
_LINK = re.compile(
    rf"(?P<url>(?:[hｈＨ][tｔＴ][tｔＴ][pｐＰ][sｓＳ]?|[fｆＦ][tｔＴ][pｐＰ])[:：][/／]{{2}}[{_URL_CHARS}]+)"
    rf"|(?<![{_W}._%+\-])(?P<mail>[{_W}._%+\-]+[@＠](?P<mailhost>(?:[{_W}\-]+[.．])+[A-Za-z\uFF21-\uFF3A\uFF41-\uFF5A]{{2,24}}))"
    rf"|(?<![{_W}@＠.．\-/=?&%#:~_])(?P<bare>(?P<host>(?:[{_W}](?:[{_W}\-]{{0,61}}[{_W}])?[.．])+"
    rf"[A-Za-z\uFF21-\uFF3A\uFF41-\uFF5A]{{2,24}})(?:[/／][{_URL_CHARS}]*)?)(?![{_W}\-])"
)
_FILE_EXTENSIONS = {
    "pdf", "doc", "docx", "xls", "xlsx", "xlsm", "ppt", "pptx", "csv", "txt", "md", "html", "htm", "zip",
    "jpg", "jpeg", "png", "gif", "svg", "json", "yaml", "yml", "xml", "py", "js", "exe",
}
_TRAILING = ".,;:!?'’\"”)]}、。，．）"


def host_of(url: str) -> str | None:
    """The host of a URL (or of a bare `www.example.com/...`), folded and without `www.`."""
    text = unicodedata.normalize("NFKC", url).strip()
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    return host.removeprefix("www.")


@dataclass(frozen=True)
class LinkPolicy:
    """The hosts whose links passages may show: a host itself or any of its subdomains."""

    hosts: frozenset[str]

    @classmethod
    def of(cls, hosts: Iterable[str]) -> LinkPolicy:
        folded = {h for h in (host_of(x) for x in hosts if x) if h}
        return cls(frozenset(folded))

    def allows(self, host: str | None) -> bool:
        if not host:
            return False
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def clean(self, text: str) -> tuple[str, list[str]]:
        """`text` without the links this policy does not allow, and the links removed."""
        removed: list[str] = []

        def link(m: re.Match) -> str:
            raw = m.group(0)
            if m.group("mail"):
                if self.allows(host_of(m.group("mailhost"))):
                    return raw
                removed.append(raw)
                return MAIL_REMOVED
            if m.group("bare"):
                tld = re.split(r"[.．]", unicodedata.normalize("NFKC", m.group("host")))[-1].lower()
                if tld in _FILE_EXTENSIONS:  # 申請書.pdf, index.html: a file's name, not a host
                    return raw
            shown = raw.rstrip(_TRAILING)
            if self.allows(host_of(shown)):
                return raw
            removed.append(shown)
            return LINK_REMOVED + raw[len(shown):]

        return _LINK.sub(link, text), removed


def has_link(text: str) -> bool:
    """Whether `text` holds anything a LinkPolicy reads (so its passages depend on the policy)."""
    return _LINK.search(text) is not None
