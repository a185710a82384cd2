"""The room page's texts, read from its JavaScript source: which string literals a person would see
without their being marked for translation, and the texts that are marked (the djangojs msgids).

A small tokenizer (strings, template literals, regular expressions, comments, brackets) is enough
for the page's modules; no JavaScript runtime is needed. A literal is a user-visible text when it
stands where the page shows text (the sinks below) or reads like words (prose) anywhere but in a
technical place (a selector, an event name, a class name, a comparison, a key).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

# The marking functions of static/rooms/room/i18n.js (and Django's catalog, which it wraps).
MARKING = {"gettext", "ngettext", "pgettext", "npgettext", "gettext_noop"}

# Properties whose assigned value is shown or read out.
TEXT_PROPERTIES = {
    *("textContent", "innerText", "innerHTML", "title", "placeholder", "alt", "label"),
    *("ariaLabel", "ariaDescription", "ariaRoleDescription", "ariaValueText", "ariaPlaceholder"),
}
# Attributes whose value is shown or read out, through setAttribute(name, value).
TEXT_ATTRIBUTES = {
    "aria-label",
    "title",
    "placeholder",
    "alt",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "aria-placeholder",
}
# Calls that show every argument: the DOM's, the browser's dialogs and the page's own helpers
# (status.showError, confirmAction, new Notification, …).
TEXT_CALLS = {
    "append",
    "prepend",
    "before",
    "after",
    "replaceChildren",
    "replaceWith",
    "createTextNode",
    "insertAdjacentText",
    "alert",
    "confirm",
    "prompt",
    "Notification",
    "confirmAction",
    "showError",
}
# Calls that show some arguments: {callee: argument indexes}.
TEXT_ARGUMENTS = {
    "el": {2},  # el(tag, className, text) in room/dom.js
    "button": {1},  # button(className, text, onClick) in room/dom.js
    "setConnection": {1},  # status.setConnection(state, text)
    "setState": {1},  # pending.js: setState(clientId, text, failed)
    "Option": {0},  # new Option(text, value)
}
# Calls whose string arguments are names for machines: selectors, events, storage keys, errors for
# developers, URLs, class names.
TECHNICAL_CALLS = {
    "querySelector",
    "querySelectorAll",
    "getElementById",
    "closest",
    "matches",
    "addEventListener",
    "removeEventListener",
    "dispatchEvent",
    "Event",
    "CustomEvent",
    "createElement",
    "createElementNS",
    "setProperty",
    "getAttribute",
    "removeAttribute",
    "hasAttribute",
    "toggleAttribute",
    "getItem",
    "setItem",
    "removeItem",
    "includes",
    "startsWith",
    "endsWith",
    "indexOf",
    "split",
    "join",
    "replace",
    "Error",
    "TypeError",
    "RangeError",
    "log",
    "warn",
    "error",
    "debug",
    "open",
    "setRequestHeader",
    "fetch",
    "URL",
    "RegExp",
    "Symbol",
    "add",
    "remove",
    "toggle",
    "contains",
    "import",
}
SINK_ARGUMENTS_TECHNICAL = {"el": {0, 1}, "button": {0}, "setAttribute": {0}, "setConnection": {0}}

# After these a "/" starts a regular expression, not a division.
STATEMENT_KEYWORDS = {
    *("return", "typeof", "case", "of", "in", "delete", "void"),
    *("throw", "new", "else", "do", "yield", "await"),
}
PUNCTUATORS = sorted(
    "=== !== ... **= <<= >>= >>> ?? ?. => == != <= >= && || += -= *= /= %= &= |= ^= ++ -- << >> "
    "{ } ( ) [ ] ; , < > + - * / % & | ^ ! ~ ? : = . @ #".split(),
    key=len,
    reverse=True,
)
LETTER = r"[^\W\d_]"
PROSE = [
    re.compile(rf"{LETTER}{{2,}}[ \u00a0]+[^\s]*{LETTER}"),  # two words: "has left", "Load earlier"
    re.compile(rf"^\s*[A-Z]{LETTER}*[a-z]{LETTER}*\s*$"),  # one capitalised word: "Send", "Today"
    re.compile(rf"{LETTER}\s*[.…!?:]\s*$"),  # a word ending a sentence: "sending…", "Copied!"
    re.compile(rf"\d\s+{LETTER}{{2,}}"),  # a count: "1 person"
]


@dataclass
class Token:
    kind: str  # "string", "template", "name", "number", "punct", "regex"
    text: str  # a string's value; a template's static parts joined by "${…}"; else the source
    line: int
    parts: list = field(default_factory=list)  # a template's static parts


class Tokenizer:
    def __init__(self, source):
        self.source = source
        self.position = 0
        self.line = 1
        self.tokens = []

    def error(self, what):
        raise ValueError(f"line {self.line}: {what}")

    def regex_allowed(self):
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind == "name":
            return last.text in STATEMENT_KEYWORDS
        return last.kind == "punct" and last.text not in {")", "]", "}"}

    def advance(self, count):
        chunk = self.source[self.position : self.position + count]
        self.line += chunk.count("\n")
        self.position += count
        return chunk

    def quoted(self, quote):
        start_line = self.line
        self.advance(1)
        value = []
        while True:
            if self.position >= len(self.source):
                self.error("unterminated string")
            char = self.source[self.position]
            if char == "\\":
                value.append(unescape(self.advance(2)))
                continue
            self.advance(1)
            if char == quote:
                return Token("string", "".join(value), start_line)
            value.append(char)

    def template(self):
        """A template literal; the tokens of its ${} expressions follow it, between "${" and "}"."""
        start_line = self.line
        self.advance(1)
        parts, current, inner = [], [], []
        while True:
            if self.position >= len(self.source):
                self.error("unterminated template")
            char = self.source[self.position]
            if char == "\\":
                current.append(unescape(self.advance(2)))
            elif char == "`":
                self.advance(1)
                parts.append("".join(current))
                token = Token("template", "${…}".join(parts), start_line, parts)
                return [token, *inner]
            elif self.source.startswith("${", self.position):
                parts.append("".join(current))
                current = []
                self.advance(2)
                inner.append(Token("punct", "${", self.line))
                inner.extend(self.run(until_close=True))
                inner.append(Token("punct", "}", self.line))
            else:
                current.append(self.advance(1))

    def regex(self):
        start_line = self.line
        start = self.position
        self.advance(1)
        in_class = False
        while True:
            if self.position >= len(self.source) or self.source[self.position] == "\n":
                self.error("unterminated regular expression")
            char = self.source[self.position]
            if char == "\\":
                self.advance(2)
                continue
            self.advance(1)
            if char == "[":
                in_class = True
            elif char == "]":
                in_class = False
            elif char == "/" and not in_class:
                break
        while self.position < len(self.source) and self.source[self.position].isalpha():
            self.advance(1)
        return Token("regex", self.source[start : self.position], start_line)

    def run(self, until_close=False):
        """Tokens up to the end (or, inside a template's ${}, up to its closing brace)."""
        outer, self.tokens = self.tokens, []
        depth = 0
        source = self.source
        while self.position < len(source):
            char = source[self.position]
            if char in " \t\r\n":
                self.advance(1)
            elif source.startswith("//", self.position):
                end = source.find("\n", self.position)
                self.advance((end if end != -1 else len(source)) - self.position)
            elif source.startswith("/*", self.position):
                end = source.find("*/", self.position + 2)
                if end == -1:
                    self.error("unterminated comment")
                self.advance(end + 2 - self.position)
            elif char in "\"'":
                self.tokens.append(self.quoted(char))
            elif char == "`":
                self.tokens.extend(self.template())
            elif char == "/" and self.regex_allowed():
                self.tokens.append(self.regex())
            elif char.isalpha() or char in "_$":
                match = re.compile(r"[\w$]+").match(source, self.position)
                self.tokens.append(Token("name", match.group(), self.line))
                self.advance(len(match.group()))
            elif char.isdigit():
                match = re.compile(r"[\w.]+").match(source, self.position)
                self.tokens.append(Token("number", match.group(), self.line))
                self.advance(len(match.group()))
            else:
                if until_close and char == "}" and depth == 0:
                    self.advance(1)
                    break
                punct = next((each for each in PUNCTUATORS if source.startswith(each, self.position)), None)
                if punct is None:
                    self.error(f"unexpected {char!r}")
                depth += {"{": 1, "}": -1}.get(punct, 0)
                self.tokens.append(Token("punct", punct, self.line))
                self.advance(len(punct))
        tokens, self.tokens = self.tokens, outer
        return tokens


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "v": "\v"}


def unescape(pair):
    """The character a two-character escape (a backslash and one more) stands for."""
    return ESCAPES.get(pair[1], pair[1])


def tokenize(source):
    return Tokenizer(source).run()


@dataclass
class Frame:
    """An open bracket: the call it belongs to (its callee), and which argument is being read."""

    bracket: str
    callee: str | None = None
    argument: int = 0
    first_literal: str | None = None  # setAttribute's attribute name
    region: str | None = None  # "text" or "technical": an assignment being read at this depth


@dataclass
class Offender:
    path: str
    line: int
    text: str
    why: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.text!r} ({self.why})"


def static_text(token):
    return " ".join(token.parts) if token.kind == "template" else token.text


def has_letters(text):
    return re.search(LETTER, text) is not None


def looks_like_prose(text):
    return any(pattern.search(text) for pattern in PROSE)


def unmarked_texts(source, path="<source>"):
    """The user-visible literals in `source` that are not inside a gettext/ngettext call."""
    tokens = tokenize(source)
    stack = [Frame("top")]
    offenders = []
    for index, token in enumerate(tokens):
        before = tokens[index - 1] if index else None
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        frame = stack[-1]
        if token.kind == "punct":
            if token.text in {"(", "[", "{", "${"}:
                callee = None
                if token.text == "(" and before is not None and before.kind == "name":
                    callee = before.text
                stack.append(Frame(token.text, callee))
            elif token.text in {")", "]", "}"} and len(stack) > 1:
                stack.pop()
            elif token.text == "," and frame.callee:
                frame.argument += 1
                frame.region = None
            elif token.text in {",", ";"}:
                frame.region = None
            elif token.text in {"=", "+="} and before is not None and before.kind == "name":
                member = index >= 2 and tokens[index - 2].text == "."
                if member:
                    frame.region = "text" if before.text in TEXT_PROPERTIES else "technical"
            continue
        if token.kind not in {"string", "template"}:
            continue
        text = static_text(token)
        if frame.callee == "setAttribute" and frame.argument == 0 and frame.first_literal is None:
            frame.first_literal = text
        if not has_letters(text):
            continue
        if any(each.callee in MARKING for each in stack):
            continue
        if (path, text) in ALLOWED or compared_or_key(before, after):
            continue
        call = enclosing_call(stack)
        if technical_argument(call):
            continue
        region = assignment_region(stack)
        why = sink(call, region)
        if why is None:
            if region == "technical" or not looks_like_prose(text):
                continue
            why = "reads like words"
        offenders.append(Offender(path, token.line, token.text, why))
    return offenders


def enclosing_call(stack):
    """The call whose argument this is, or None; an object or a function body between the literal
    and the call makes it no argument of that call ({tag: "…"} in new Notification(title, {…}))."""
    for frame in reversed(stack):
        if frame.bracket == "(" and frame.callee:
            return frame
        if frame.bracket == "{":
            return None
    return None


# Literals a sink shows that are not words for people, each with why (a file path from static/).
ALLOWED = {
    ("static/rooms/room/images.js", "file"),  # FormData.append("file", …): the upload's field name
    # Encrypted rooms: the fixed text a key check encrypts, and the session storage key of a room's key.
    ("static/rooms/room/crypto.js", "roomchat key check v1"),
    ("static/rooms/room/encrypted.js", "roomchat-room-key: "),
    # The bots dialog's curl example: shell commands to copy, not prose.
    ("static/rooms/room/bots.js", "curl -X POST   \\"),
    ("static/rooms/room/bots.js", '  -d \'{"body": "Hello from my bot"}\''),
    (
        "static/rooms/room/bots.js",
        "curl -X POST   -H 'Content-Type: application/json' -d '{\"text\": \"Hello from a webhook\"}'",
    ),
}


def sink(call, region):
    """Why a literal here is shown, or None."""
    if call is not None and call.callee in TEXT_CALLS:
        return f"shown by {call.callee}()"
    if call is not None and call.argument in TEXT_ARGUMENTS.get(call.callee, set()):
        return f"the text of {call.callee}()"
    if call is not None and call.callee == "setAttribute" and call.argument == 1:
        if call.first_literal in TEXT_ATTRIBUTES:
            return f'the "{call.first_literal}" attribute'
    if region == "text":
        return "assigned to a text property"
    return None


def assignment_region(stack):
    """ "text" or "technical" when the literal is in the value of a property assignment (up to an
    object or a function body), else None."""
    for frame in reversed(stack):
        if frame.region:
            return frame.region
        if frame.bracket == "{":
            return None
    return None


def technical_argument(call):
    """Whether the literal is an argument of a call that takes names for machines."""
    if call is None:
        return False
    if call.callee in TECHNICAL_CALLS or call.argument in SINK_ARGUMENTS_TECHNICAL.get(call.callee, set()):
        return True
    # An attribute that is not read out (role, aria-controls …).
    return call.callee == "setAttribute" and call.first_literal not in TEXT_ATTRIBUTES


def compared_or_key(before, after):
    """Whether the literal is compared (a key name, a frame type), an object key or a module path."""
    comparisons = {"===", "!==", "==", "!="}
    if before is not None and (before.text in comparisons or before.text in {"case", "from", "import"}):
        return True
    if after is not None and (after.text in comparisons or after.text == "in"):
        return True
    # An object's key: { "👍": … }
    return after is not None and after.text == ":" and before is not None and before.text in {"{", ","}


@dataclass
class Msgid:
    msgid: str
    plural: str | None
    path: str
    line: int


def marked_texts(source, path="<source>"):
    """The texts marked in `source`: each gettext/ngettext call's literal arguments; a call whose text
    is not a plain literal (so cannot be extracted) is an error."""
    tokens = tokenize(source)
    found = []
    for index, token in enumerate(tokens[:-1]):
        if token.kind != "name" or token.text not in {"gettext", "ngettext"} or tokens[index + 1].text != "(":
            continue
        if index and tokens[index - 1].text in {"function", "."}:
            continue  # a definition, or the catalog's own method
        arguments = tokens[index + 2 : index + 6]
        literal = [each for each in arguments[::2] if each.kind == "string"]
        wanted = 1 if token.text == "gettext" else 2
        separators = [each.text for each in arguments[1 : 2 * wanted : 2]]
        if len(literal) < wanted or arguments[0].kind != "string" or (wanted == 2 and separators[0] != ","):
            raise ValueError(f"{path}:{token.line}: {token.text}() needs plain string literals to be extracted")
        found.append(Msgid(literal[0].text, literal[1].text if wanted == 2 else None, path, token.line))
    return found


def page_sources(static_root):
    """{relative path: source} of the room page's modules under `static_root` (static/)."""
    root = Path(static_root)
    files = dict.fromkeys(sorted(root.glob("rooms/*.js")) + sorted(root.glob("rooms/**/*.js")))
    return {str(Path("static") / path.relative_to(root)): path.read_text(encoding="utf-8") for path in files}
