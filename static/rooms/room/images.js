// Images in messages: pick, paste or drop images into the composer; each uploads at once (with its
// progress) and waits in a tray above the box, with a preview and a Remove button, until the
// message is sent. Sent images show as thumbnails; a thumbnail opens the full image in a lightbox.

import { button, el } from "./dom.js";
import { gettext, interpolate, ngettext } from "./i18n.js";

export const ACCEPTED_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

// Sent images: thumbnails under the body, and the lightbox they open.
export function createImageViewer({ rich }) {
  const lightbox = el("dialog", "lightbox");
  lightbox.id = "lightbox";
  lightbox.setAttribute("aria-label", gettext("Image"));
  const full = el("img", "lightbox-image");
  const close = button("lightbox-close", gettext("Close"), () => lightbox.close());
  lightbox.append(close, full);
  lightbox.addEventListener("click", (event) => {
    if (event.target === lightbox) lightbox.close(); // a click beside the image
  });
  document.body.append(lightbox);

  function open(image, name) {
    full.src = image.url;
    full.alt = interpolate(gettext("Image from %(name)s"), { name });
    full.width = image.width;
    full.height = image.height;
    lightbox.showModal();
  }

  rich.decorate((item, message) => {
    item.querySelector(".attachments")?.remove();
    if (message.deleted || !message.attachments?.length) return;
    const strip = el("div", "attachments");
    message.attachments.forEach((image, index) => {
      const thumb = el("img", "attachment-thumb");
      thumb.src = image.thumb_url;
      const which = { number: index + 1, name: message.name };
      thumb.alt = interpolate(gettext("Image %(number)s from %(name)s"), which);
      const scale = Math.min(1, 320 / Math.max(image.width, image.height));
      thumb.width = Math.max(1, Math.round(image.width * scale));
      thumb.height = Math.max(1, Math.round(image.height * scale));
      thumb.loading = "lazy";
      const show = button("attachment", "", () => open(image, message.name));
      show.setAttribute("aria-label", interpolate(gettext("Open image %(number)s from %(name)s"), which));
      show.append(thumb);
      strip.append(show);
    });
    item.querySelector(".body").after(strip);
  });
}

// The composer's side: uploads waiting to be sent.
export function createImageUploads({ config, status }) {
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const picker = el("input", "visually-hidden");
  picker.type = "file";
  picker.id = "image-picker";
  picker.accept = ACCEPTED_TYPES.join(",");
  picker.multiple = true;
  picker.tabIndex = -1;
  picker.setAttribute("aria-hidden", "true");
  const attach = button("attach-image", gettext("Image"), () => picker.click());
  attach.id = "attach-image";
  attach.setAttribute("aria-label", gettext("Attach images"));
  const tray = el("ul", "upload-tray");
  tray.id = "upload-tray";
  tray.setAttribute("aria-label", gettext("Images to send"));
  tray.hidden = true;
  document.getElementById("send").before(attach, picker);
  form.before(tray);
  const uploads = []; // {item, id (once uploaded), request, failed}
  const max = config.limits.attachments_max;

  function forget(upload) {
    upload.request?.abort();
    uploads.splice(uploads.indexOf(upload), 1);
    upload.item.remove();
    URL.revokeObjectURL(upload.preview);
    tray.hidden = uploads.length === 0;
  }

  function add(file) {
    if (!ACCEPTED_TYPES.includes(file.type)) {
      status.showError(gettext("Only PNG, JPEG, GIF and WebP images can be sent."));
      return;
    }
    if (uploads.length >= max) {
      const most = ngettext(
        "A message can carry at most %(max)s image.",
        "A message can carry at most %(max)s images.",
        max,
      );
      status.showError(interpolate(most, { max }));
      return;
    }
    const upload = { id: null, failed: false, preview: URL.createObjectURL(file) };
    const item = el("li", "upload");
    const preview = el("img", "upload-preview");
    preview.src = upload.preview;
    preview.alt = interpolate(gettext("Preview of %(file)s"), { file: file.name });
    const progress = el("progress", "upload-progress");
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", interpolate(gettext("Uploading %(file)s"), { file: file.name }));
    const note = el("span", "upload-note");
    item.append(
      preview,
      progress,
      note,
      button("remove-upload", gettext("Remove"), () => forget(upload)),
    );
    upload.item = item;
    uploads.push(upload);
    tray.append(item);
    tray.hidden = false;

    const body = new FormData();
    body.append("file", file);
    const request = new XMLHttpRequest();
    upload.request = request;
    request.open("POST", `/rooms/${encodeURIComponent(config.code)}/uploads/`);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    });
    request.addEventListener("load", () => {
      upload.request = null;
      if (request.status === 201) {
        upload.id = request.response.id;
        progress.value = 1;
        item.classList.add("uploaded");
        note.textContent = gettext("Ready");
        return;
      }
      upload.failed = true;
      item.classList.add("failed");
      note.textContent = request.response?.detail ?? gettext("The image could not be uploaded.");
    });
    request.addEventListener("error", () => {
      upload.request = null;
      upload.failed = true;
      item.classList.add("failed");
      note.textContent = gettext("The image could not be uploaded; check the connection and try again.");
    });
    request.send(body);
  }

  picker.addEventListener("change", () => {
    for (const file of picker.files) add(file);
    picker.value = "";
  });
  input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    files.forEach(add);
  });
  form.addEventListener("dragover", (event) => {
    if ([...(event.dataTransfer?.types ?? [])].includes("Files")) event.preventDefault();
  });
  form.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer?.files ?? [])];
    if (!files.length) return;
    event.preventDefault();
    files.forEach(add);
  });

  return {
    hasImages: () => uploads.some((upload) => upload.id !== null),
    // The composer's hook: the uploaded images go with the message; one still uploading holds it.
    beforeSend(frame) {
      if (uploads.some((upload) => upload.request)) {
        status.showError(gettext("Wait until the images are uploaded."));
        return false;
      }
      const ready = uploads.filter((upload) => upload.id !== null);
      if (!ready.length) return;
      frame.attachments = ready.map((upload) => upload.id);
      for (const upload of [...uploads]) forget(upload);
    },
  };
}
