"""The layout's rules, checked: no import cycle between rooms' modules, and the domain (services,
validation, protocol) never imports the realtime layer, which fans out what the domain decided."""

import ast
from pathlib import Path

ROOMS = Path(__file__).resolve().parent.parent / "rooms"


def module_name(path):
    parts = path.relative_to(ROOMS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports():
    """{module: the rooms modules it imports at module level}."""
    graph = {}
    for path in ROOMS.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = module_name(path)
        imported = set()
        for node in ast.parse(path.read_text()).body:  # top level only: imports inside functions are lazy
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rooms"):
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name.startswith("rooms"))
        graph[name] = imported
    return {name: {each for each in imported if each in graph and each != name} for name, imported in graph.items()}


def test_no_module_of_rooms_imports_itself_through_others():
    graph = module_imports()
    state = {}

    def visit(name, path):
        state[name] = "open"
        for each in sorted(graph[name]):
            if state.get(each) == "open":
                cycle = path[path.index(each) :] + [each]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if each not in state:
                visit(each, path + [each])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_domain_never_imports_the_realtime_layer():
    graph = module_imports()
    domain = [name for name in graph if name.startswith(("rooms.services", "rooms.validation", "rooms.protocol"))]
    assert domain, "no domain modules found"
    for name in domain:
        assert not [each for each in graph[name] if each.startswith("rooms.realtime")], name


def test_no_module_of_rooms_is_a_grab_bag():
    for path in ROOMS.rglob("*.py"):
        if "migrations" not in path.parts:
            assert len(path.read_text().splitlines()) <= 400, f"{path.relative_to(ROOMS.parent)} is over 400 lines"
