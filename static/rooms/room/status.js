// What the page says about itself: the connection indicator in the header (#connection) and the
// error line under the composer (#composer-error).

export function createStatus() {
  const connection = document.getElementById("connection");
  const errorLine = document.getElementById("composer-error");
  return {
    // state: connecting, connected, reconnecting or offline (style.css colours each).
    setConnection(state, text) {
      connection.dataset.state = state;
      connection.textContent = text;
    },
    showError(detail) {
      errorLine.textContent = detail;
      errorLine.hidden = false;
    },
    hideError() {
      errorLine.hidden = true;
    },
  };
}
