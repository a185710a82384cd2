"""Every string people read is marked for translation: in the templates and in the Python of rooms/.

A failure lists each offender as path:line, what it is, and the text; mark it ({% translate %} /
{% blocktranslate %} in templates, gettext_lazy as _ / format_lazy in Python), then run
`make messages` and translate the new entries of locale/*/LC_MESSAGES/django.po.
"""

from pathlib import Path

from tests.translation_marking import offenders, unmarked_python_text, unmarked_template_text

ROOT = Path(__file__).resolve().parent.parent
# The operators' admin (Django's admin, templates/admin and rooms/admin.py) and the manage.py
# commands speak English to operators; everything members and visitors see is checked.
TEMPLATES = [path for path in (ROOT / "templates").rglob("*.html") if "admin" not in path.relative_to(ROOT).parts]
PYTHON = [
    path
    for path in (ROOT / "rooms").rglob("*.py")
    if not {"migrations", "management"} & set(path.relative_to(ROOT).parts) and path.name != "admin.py"
]
HOW_TO_FIX = (
    "\nMark each one: {% translate %} or {% blocktranslate %} in templates (load i18n), "
    "gettext_lazy as _ (format_lazy(_(...), name=value) for values) in Python; then `make messages` "
    "and translate the new entries in locale/*/LC_MESSAGES/django.po, and `make messages-compile`."
)


def test_every_template_text_is_marked():
    assert TEMPLATES, "no templates found"
    found = offenders(TEMPLATES, unmarked_template_text, ROOT)
    assert not found, "Template text not marked for translation:\n" + "\n".join(found) + HOW_TO_FIX


def test_every_python_text_for_people_is_marked():
    assert PYTHON, "no Python modules found"
    found = offenders(PYTHON, unmarked_python_text, ROOT)
    assert not found, "Python text not marked for translation:\n" + "\n".join(found) + HOW_TO_FIX


# The checker itself: it must see what it is for, and leave alone what it is not for.


def test_template_checker_finds_unmarked_text_attributes_and_variables_in_text():
    source = (
        "{% load i18n %}<h1>{% translate 'Hello' %}</h1>\n"
        "<p>Plain words</p>\n"
        '<button aria-label="Close it">×</button>\n'
        "<p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}</p>\n"
        "<p>Message as {{ name }}</p>\n"
        "{# a comment #}<script>let words = 1;</script><title>roomchat</title>\n"
        '<input type="submit" value="Yes, purge">\n'
    )
    assert unmarked_template_text(source) == [
        (2, "text", "Plain words"),
        (3, '<button aria-label="…">', "Close it"),
        (5, "text", "Message as {…}"),
        (7, '<input type="submit" value="…">', "Yes, purge"),
    ]


def test_python_checker_finds_literals_f_strings_and_constants_in_text_sinks():
    source = (
        "from django.utils.translation import gettext_lazy as _\n"
        "NOT_MARKED = 'A constant sentence.'\n"
        "MARKED = _('A marked sentence.')\n"
        "raise ChatError('code', 'Plain detail.')\n"
        "raise ChatError('code', f'At most {n}.')\n"
        "raise ChatError('code', NOT_MARKED)\n"
        "raise ChatError('code', MARKED)\n"
        "raise ChatError('code', format_lazy(_('At most {n}.'), n=n))\n"
        "messages.error(request, 'Flash.')\n"
        "field = forms.CharField(label='Your name')\n"
        "JsonResponse({'code': 'x', 'detail': 'Choose one.'})\n"
        "self.refuse('no_name', _(f'Bad {x}'), 4001)\n"
        "def check_rate(bucket, detail='Too fast.'): pass\n"
    )
    whats = [(line, what) for line, what, _code in unmarked_python_text(source)]
    assert whats == [
        (4, "the text of ChatError() is a plain string"),
        (5, "the text of ChatError() is an f-string"),
        (6, "the text of ChatError() is a plain string"),
        (9, "the text of error() is a plain string"),
        (10, "label= is a plain string"),
        (11, 'a "detail" value is a plain string'),
        (12, "_() of a non-literal"),
        (13, "the default of check_rate(detail=) is a plain string"),
    ]
