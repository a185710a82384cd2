// End-to-end encryption's pure functions (docs/e2ee.md), on WebCrypto: the room key (AES-GCM,
// 256 bits) travels as base64url in the invite link's fragment (#k=…), which browsers never send
// to the server. Each body is encrypted with a fresh random 96-bit IV, and its additional data
// names the room and the message's client_id, so a ciphertext cannot be replayed into another
// room or passed off as another message: decryption fails instead.

export const IV_BYTES = 12;
const ALGORITHM = "AES-GCM";
// What the key check encrypts: a page that decrypts it holds the room's key.
export const KEY_CHECK_TEXT = "roomchat key check v1";
const KEY_CHECK_CONTEXT = "roomchat:key-check:v1";

export function bytesToBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// Throws on anything that is not base64.
export function base64ToBytes(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function toBase64Url(bytes) {
  return bytesToBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64Url(text) {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/");
  return base64ToBytes(padded + "=".repeat((4 - (padded.length % 4)) % 4));
}

// The key a fragment such as "#k=…" carries (base64url text), or null.
export function keyInFragment(hash) {
  const value = new URLSearchParams(hash.replace(/^#/, "")).get("k");
  return value && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
}

export function linkWithKey(url, keyText) {
  const link = new URL(url);
  link.hash = `k=${keyText}`;
  return link.href;
}

export async function generateKey() {
  return crypto.subtle.generateKey({ name: ALGORITHM, length: 256 }, true, ["encrypt", "decrypt"]);
}

export async function exportKey(key) {
  return toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", key)));
}

// Throws when the text is no 256-bit key.
export async function importKey(text) {
  const raw = fromBase64Url(text);
  if (raw.length !== 32) throw new Error("a room key is 32 bytes");
  return crypto.subtle.importKey("raw", raw, ALGORITHM, true, ["encrypt", "decrypt"]);
}

// What binds a message's ciphertext to its room and its client_id.
export function messageContext(code, clientId) {
  return `roomchat:message:v1:${code}:${clientId}`;
}

// → {ciphertext, iv}, both standard base64 as the server takes them.
export async function encryptText(key, text, context) {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: ALGORITHM, iv, additionalData: new TextEncoder().encode(context) },
    key,
    new TextEncoder().encode(text),
  );
  return { ciphertext: bytesToBase64(new Uint8Array(sealed)), iv: bytesToBase64(iv) };
}

// The text, or a rejection when the key, the context or a single bit of the ciphertext is wrong.
export async function decryptText(key, { ciphertext, iv }, context) {
  const ivBytes = base64ToBytes(iv);
  if (ivBytes.length !== IV_BYTES) throw new Error("the iv is not 12 bytes");
  const opened = await crypto.subtle.decrypt(
    { name: ALGORITHM, iv: ivBytes, additionalData: new TextEncoder().encode(context) },
    key,
    base64ToBytes(ciphertext),
  );
  return new TextDecoder("utf-8", { fatal: true }).decode(opened);
}

export function makeKeyCheck(key) {
  return encryptText(key, KEY_CHECK_TEXT, KEY_CHECK_CONTEXT);
}

// Whether `key` opens the room's key check ({ciphertext, iv}).
export async function opensKeyCheck(key, check) {
  try {
    return (await decryptText(key, check, KEY_CHECK_CONTEXT)) === KEY_CHECK_TEXT;
  } catch {
    return false;
  }
}

// A body's own commands, read after decryption (the server cannot): "/me waves" is an action,
// "//text" is the literal "/text". Others were turned into what they mean before sending.
export function readDecrypted(text) {
  const action = /^\/me\s+([\s\S]+)$/i.exec(text);
  if (action) return { body: action[1].trim(), action: true };
  return { body: text.startsWith("//") ? text.slice(1) : text, action: false };
}
