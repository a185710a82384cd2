// Small DOM builders shared by the room page's modules. Text goes in with textContent, never as HTML.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(className, text, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

// A server timestamp in the reader's local time; the full date on hover.
export function timeElement(ts) {
  const when = new Date(ts);
  const node = el("time", "ts", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  node.dateTime = ts;
  node.title = when.toLocaleString();
  return node;
}

// A name inside a sentence is its own <bdi>, so a right-to-left override in the name cannot
// reverse the words around it.
export function nameInText(name) {
  return el("bdi", "name", name);
}
