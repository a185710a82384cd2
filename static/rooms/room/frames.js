// The frame registry: which modules handle each frame type from the server, which error codes end
// the connection for good, and how each system notice reads. Modules declare their fatal errors and
// notices when the registry is made, and subscribe to frame types; nobody patches another's table.

// A handler returns CLAIMED when the frame was about it (e.g. a refusal of its own request): the
// handlers subscribed after it do not see the frame.
export const CLAIMED = Symbol("claimed");

// declarations: [{fatalErrors: [code, …], notices: {event: (frame) => [node or text, …]}}, …]
export function createFrameRegistry(declarations = []) {
  const handlers = new Map();
  const fatalErrors = new Set();
  const notices = new Map();
  for (const { fatalErrors: codes = [], notices: texts = {} } of declarations) {
    for (const code of codes) {
      if (fatalErrors.has(code)) throw new Error(`fatal error ${code} is declared twice`);
      fatalErrors.add(code);
    }
    for (const [event, describe] of Object.entries(texts)) {
      if (notices.has(event)) throw new Error(`system notice ${event} is declared twice`);
      notices.set(event, describe);
    }
  }

  return {
    // Handlers of a type run in the order they subscribed.
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, []);
      handlers.get(type).push(handler);
    },
    // Returns whether a handler claimed the frame. Unknown types are ignored.
    dispatch(frame) {
      for (const handler of handlers.get(frame.type) ?? []) {
        if (handler(frame) === CLAIMED) return true;
      }
      return false;
    },
    isFatal(code) {
      return fatalErrors.has(code);
    },
    // The parts of a system notice's text, or null for an event this page does not show.
    describeNotice(frame) {
      const describe = notices.get(frame.event);
      return describe ? describe(frame) : null;
    },
  };
}
