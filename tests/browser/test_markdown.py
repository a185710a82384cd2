"""room_view.js's light markdown, run in Chromium: exact renderings, and a property test that random
strings never produce an element outside the allowed set nor lose or invent text."""

import pytest


@pytest.fixture(scope="module")
def view(browser, app_server):
    page = browser.new_page()
    page.goto(app_server.url + "/")
    page.evaluate("async () => { window.view = await import('/static/rooms/room_view.js'); }")
    yield page
    page.close()


def render(view, text):
    """The rendered body as a list of (tag or '#text', text) pairs, top level only."""
    return view.evaluate(
        """text => {
            const box = document.createElement('div');
            box.append(window.view.renderMarkdown(text));
            return [...box.childNodes].map(n => [n.nodeType === 3 ? '#text' : n.tagName.toLowerCase(), n.textContent]);
        }""",
        text,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*hi* there", [["em", "hi"], ["#text", " there"]]),
        ("**bold** and *it*", [["strong", "bold"], ["#text", " and "], ["em", "it"]]),
        ("run `ls -la`", [["#text", "run "], ["code", "ls -la"]]),
        ("```\n<b>x</b>\n```", [["pre", "<b>x</b>"]]),
        ("see https://example.com.", [["#text", "see "], ["a", "https://example.com"], ["#text", "."]]),
        ("2 * 3 * 4", [["#text", "2 * 3 * 4"]]),
        ("<img src=x onerror=alert(1)>", [["#text", "<img src=x onerror=alert(1)>"]]),
        ("javascript:alert(1) *x", [["#text", "javascript:alert(1) *x"]]),
    ],
)
def test_renders_the_markdown_subset(view, text, expected):
    assert render(view, text) == expected


def test_random_strings_only_ever_produce_allowed_elements(view):
    # A seeded generator in the page (no node needed): 3000 strings built from markdown
    # delimiters, HTML, URLs and ordinary text, each rendered into a fresh container.
    result = view.evaluate(
        """() => {
            let seed = 20261123;
            const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
            const pieces = ['*', '**', '`', '```', '\\n', ' ', 'a', 'bc', '<', '>', '<script>', '</b>', '&amp;',
                '"', "'", 'http://', 'https://x.io/p?q=1', 'javascript:', '(', ')', '_', '~', 'é', '👍', '\\t'];
            const allowed = window.view.MARKDOWN_ELEMENTS;
            const failures = [];
            let elements = 0;
            for (let i = 0; i < 3000; i++) {
                let text = '';
                const length = Math.floor(next() * 30);
                for (let j = 0; j < length; j++) text += pieces[Math.floor(next() * pieces.length)];
                const box = document.createElement('div');
                box.append(window.view.renderMarkdown(text));
                for (const node of box.querySelectorAll('*')) {
                    elements++;
                    if (!allowed.has(node.tagName) || node.attributes.length > (node.tagName === 'A' ? 3 : 0)) {
                        failures.push([text, node.outerHTML]);
                    }
                    const href = node.getAttribute('href');
                    if (node.tagName === 'A' && !/^https?:/.test(href)) failures.push([text, node.outerHTML]);
                }
                // Markup characters may be consumed, but no other text is lost or invented.
                const strip = s => s.replace(/[*`\\n]/g, '');
                if (strip(box.textContent) !== strip(text)) failures.push([text, box.textContent]);
            }
            return {failures: failures.slice(0, 5), elements};
        }"""
    )
    assert result["failures"] == []
    assert result["elements"] > 100  # the generator does reach the markdown paths
