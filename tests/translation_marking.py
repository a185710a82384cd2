"""Finds text people read that is not marked for translation, in templates and in Python.

Templates: Django's own Lexer splits a template into text, variables, tags and comments; the text
outside {% translate %}, {% blocktranslate %} and comments is read as HTML, and every text node
(outside script and style) and every attribute people read (aria-label, title, placeholder, …) that
still has a letter in it is an offender, unless it is an allowed word (the brand name).

Python: the places a string reaches a person (a ChatError's detail, a form's error and label, a
flash message, a websocket refusal's detail, an HTTP answer's text, a JSON "detail") must hold a
gettext call, not a str literal, an f-string or a formatted literal; and every gettext call must
translate a literal (makemessages cannot read an f-string).
"""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

# Words that stay as they are in every language: the brand name and a file format's name.
ALLOWED_WORDS = {"roomchat", "JSON"}
# Attributes whose values people read (screen readers, tooltips, empty fields, buttons).
READ_ATTRIBUTES = {"aria-label", "aria-description", "aria-valuetext", "title", "alt", "placeholder", "label"}
# Blocks whose text is translated, or never shown: {% tag %} … {% endtag %}.
SKIPPED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}
# {% block name %}s that fill an attribute of base.html (a class name), not text.
ATTRIBUTE_BLOCKS = {"body_class"}
PLACEHOLDER = "\ue000"  # stands for a variable or tag, so the text around it keeps its shape
LETTER = re.compile(r"[^\W\d_]")


def has_words(text):
    text = text.replace(PLACEHOLDER, " ")
    for word in ALLOWED_WORDS:
        text = re.sub(rf"\b{re.escape(word)}\b", " ", text)
    return bool(LETTER.search(text))


def template_without_marked_text(source):
    """The template with every tag, variable, comment and translated block replaced by a
    placeholder (line breaks kept, so HTML positions are the template's lines)."""
    pieces, closing = [], None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            pieces.append("\n" * token.contents.count("\n") if token.token_type == TokenType.TEXT else "")
            if closing is None:
                pieces.append(PLACEHOLDER)
            continue
        if token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            words = token.contents.split()
            closing = SKIPPED_BLOCKS.get(words[0])
            if words[0] == "block" and words[1:2] and words[1] in ATTRIBUTE_BLOCKS:
                closing = "endblock"
        pieces.append(PLACEHOLDER)
    return "".join(pieces)


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []  # (line, what, text)
        self.hidden_depth = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self.hidden_depth += 1
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES and has_words(value):
                self.found.append((line, f'<{tag} {name}="…">', value))
        if tag == "meta" and attributes.get("name") == "description" and has_words(attributes.get("content") or ""):
            self.found.append((line, "<meta description>", attributes["content"]))
        if tag == "input" and attributes.get("type") in ("submit", "button", "reset"):
            if has_words(attributes.get("value") or ""):
                self.found.append((line, f'<input type="{attributes["type"]}" value="…">', attributes["value"]))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if self.hidden_depth or not has_words(data):
            return
        line = self.getpos()[0] + data[: LETTER.search(data).start()].count("\n")
        self.found.append((line, "text", data))


def unmarked_template_text(source):
    """[(line, where, text)] for the template source's text people read that is not marked."""
    finder = _TextFinder()
    finder.feed(template_without_marked_text(source))
    finder.close()
    return [(line, where, " ".join(text.replace(PLACEHOLDER, "{…}").split())) for line, where, text in finder.found]


# --- Python ---------------------------------------------------------------------------------------

GETTEXT_FUNCTIONS = {
    "_": 1,
    "gettext": 1,
    "gettext_lazy": 1,
    "pgettext": 2,  # the context, then the message
    "pgettext_lazy": 2,
    "ngettext": 2,  # singular and plural
    "ngettext_lazy": 2,
    "npgettext": 3,
    "npgettext_lazy": 3,
}
# Where text reaches people: (how it is called, the callee's name) → (positions, keywords).
# "call" is any call of that name, "method" a call of obj.name(...), "function" a plain name(...).
TEXT_SINKS = {
    ("call", "ChatError"): ((1,), ("detail",)),
    ("call", "ValidationError"): ((0,), ("message",)),
    ("call", "PermissionDenied"): ((0,), ()),
    ("call", "HttpResponse"): ((0,), ("content",)),
    ("call", "error_frame"): ((1,), ("detail",)),
    ("method", "add_error"): ((1,), ("error",)),
    ("method", "refuse"): ((1,), ("detail",)),  # a consumer's refusal: code, detail, close code
    ("function", "refuse"): ((4,), ("detail",)),  # the socket guard's: scope, receive, send, code, detail
    ("method", "end"): ((1,), ("detail",)),
    ("method", "send_error"): ((1,), ("detail",)),
    ("call", "take"): ((4,), ("detail",)),  # a budget's refusal (services/budgets.py)
    ("call", "atake"): ((4,), ("detail",)),
    ("call", "check_rate"): ((1,), ("detail",)),  # a token bucket's refusal (validation.py)
    **{("messages", level): ((1,), ("message",)) for level in ("debug", "info", "success", "warning", "error")},
}
TEXT_KEYWORDS = {"label", "help_text", "empty_label", "title"}  # form fields' text, an image's title
TEXT_PARAMETERS = {"detail"}  # a function's parameter that carries text for people
TEXT_DICT_KEYS = {"detail", "help"}  # a JSON answer's text for people; a command's help on the page


def _callee(node):
    """(kind, name) pairs the call matches in TEXT_SINKS."""
    func = node.func
    if isinstance(func, ast.Name):
        return [("call", func.id), ("function", func.id)]
    if isinstance(func, ast.Attribute):
        matches = [("call", func.attr), ("method", func.attr)]
        if isinstance(func.value, ast.Name):
            matches.append((func.value.id, func.attr))
        return matches
    return []


def _is_gettext_call(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_FUNCTIONS


class _PythonChecker(ast.NodeVisitor):
    def __init__(self, constants):
        self.constants = constants  # module-level NAME = expression
        self.found = []  # (line, what, source text)

    def unmarked(self, node, seen=()):
        """Why `node`, as text for people, is not translated, or None."""
        if isinstance(node, ast.Constant):
            return "a plain string" if isinstance(node.value, str) and has_words(node.value) else None
        if isinstance(node, ast.JoinedStr):
            # Text around the values is what needs translating; "{where}: {detail}" has none.
            parts = [part.value for part in node.values if isinstance(part, ast.Constant)]
            return "an f-string" if has_words("".join(parts)) else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            return self.unmarked(node.left, seen) or self.unmarked(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.unmarked(node.body, seen) or self.unmarked(node.orelse, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            return self.unmarked(node.func.value, seen)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "format_lazy":
            return None if node.args and _is_gettext_call(node.args[0]) else "format_lazy of untranslated text"
        if isinstance(node, ast.Name) and node.id in self.constants and node.id not in seen:
            return self.unmarked(self.constants[node.id], (*seen, node.id))
        return None  # a gettext call, a variable, another call's result: translated where it is made

    def report(self, node, what):
        reason = self.unmarked(node)
        if reason:
            self.found.append((node.lineno, f"{what} is {reason}", ast.unparse(node)))

    def visit_Call(self, node):
        for kind_name in _callee(node):
            if kind_name in TEXT_SINKS:
                positions, keywords = TEXT_SINKS[kind_name]
                for position in positions:
                    if position < len(node.args):
                        self.report(node.args[position], f"the text of {kind_name[1]}()")
                for keyword in node.keywords:
                    if keyword.arg in keywords:
                        self.report(keyword.value, f"the text of {kind_name[1]}()")
        for keyword in node.keywords:
            if keyword.arg in TEXT_KEYWORDS:
                self.report(keyword.value, f"{keyword.arg}=")
        if _is_gettext_call(node):
            count = GETTEXT_FUNCTIONS[node.func.id]
            for argument in node.args[:count]:
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    self.found.append((node.lineno, f"{node.func.id}() of a non-literal", ast.unparse(argument)))
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        # A parameter named `detail` carries text for people: its default must be marked too.
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        pairs = zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True)
        keyword_pairs = (
            (arg, default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        )
        for argument, default in [*pairs, *keyword_pairs]:
            if default is not None and argument.arg in TEXT_PARAMETERS:
                self.report(default, f"the default of {node.name}({argument.arg}=)")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Dict(self, node):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value in TEXT_DICT_KEYS:
                self.report(value, f'a "{key.value}" value')
        self.generic_visit(node)


def unmarked_python_text(source):
    """[(line, why, code)] for the module's text people read that is not a gettext call."""
    tree = ast.parse(source)
    constants = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                constants[target.id] = statement.value
    checker = _PythonChecker(constants)
    checker.visit(tree)
    return sorted(checker.found)


def offenders(paths, find, root):
    """'path:line: what: text' for every offender `find` reports in the files."""
    lines = []
    for path in sorted(paths):
        for line, what, text in find(Path(path).read_text()):
            lines.append(f"{Path(path).relative_to(root)}:{line}: {what}: {text[:120]}")
    return lines
