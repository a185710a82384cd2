// Images in messages: pick, paste or drop images into the composer; each uploads at once (with its
// progress) and waits in a tray above the box, with a preview and a Remove button, until the
// message is sent. Sent images show as thumbnails; a thumbnail opens the full image in a lightbox.

import { button, el } from "./dom.js";

export const ACCEPTED_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

// Sent images: thumbnails under the body, and the lightbox they open.
export function createImageViewer({ rich }) {
  const lightbox = el("dialog", "lightbox");
  lightbox.id = "lightbox";
  lightbox.setAttribute("aria-label", "Image");
  const full = el("img", "lightbox-image");
  const close = button("lightbox-close", "Close", () => lightbox.close());
  lightbox.append(close, full);
  lightbox.addEventListener("click", (event) => {
    if (event.target === lightbox) lightbox.close(); // a click beside the image
  });
  document.body.append(lightbox);

  function open(image, name) {
    full.src = image.url;
    full.alt = `Image from ${name}`;
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
      thumb.alt = `Image ${index + 1} from ${message.name}`;
      const scale = Math.min(1, 320 / Math.max(image.width, image.height));
      thumb.width = Math.max(1, Math.round(image.width * scale));
      thumb.height = Math.max(1, Math.round(image.height * scale));
      thumb.loading = "lazy";
      const show = button("attachment", "", () => open(image, message.name));
      show.setAttribute("aria-label", `Open image ${index + 1} from ${message.name}`);
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
  const attach = button("attach-image", "Image", () => picker.click());
  attach.id = "attach-image";
  attach.setAttribute("aria-label", "Attach images");
  const tray = el("ul", "upload-tray");
  tray.id = "upload-tray";
  tray.setAttribute("aria-label", "Images to send");
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
      status.showError("Only PNG, JPEG, GIF and WebP images can be sent.");
      return;
    }
    if (uploads.length >= max) {
      status.showError(`A message can carry at most ${max} images.`);
      return;
    }
    const upload = { id: null, failed: false, preview: URL.createObjectURL(file) };
    const item = el("li", "upload");
    const preview = el("img", "upload-preview");
    preview.src = upload.preview;
    preview.alt = `Preview of ${file.name}`;
    const progress = el("progress", "upload-progress");
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", `Uploading ${file.name}`);
    const note = el("span", "upload-note");
    item.append(
      preview,
      progress,
      note,
      button("remove-upload", "Remove", () => forget(upload)),
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
        note.textContent = "Ready";
        return;
      }
      upload.failed = true;
      item.classList.add("failed");
      note.textContent = request.response?.detail ?? "The image could not be uploaded.";
    });
    request.addEventListener("error", () => {
      upload.request = null;
      upload.failed = true;
      item.classList.add("failed");
      note.textContent = "The image could not be uploaded; check the connection and try again.";
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
        status.showError("Wait until the images are uploaded.");
        return false;
      }
      const ready = uploads.filter((upload) => upload.id !== null);
      if (!ready.length) return;
      frame.attachments = ready.map((upload) => upload.id);
      for (const upload of [...uploads]) forget(upload);
    },
  };
}
