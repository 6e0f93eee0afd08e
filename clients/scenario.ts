// A client's day against a live Relay, through openapi-fetch typed by the openapi-typescript output of
// /api/schema/ (tests/test_generated_clients.py generates `relay-api.ts` beside a copy of this file, compiles
// both with `tsc --strict`, and runs the result).
//
// Usage: node scenario.js <base URL> <username> <password> <partner's username>
// Prints one JSON line of what it saw; exits non-zero at the first step that answers other than expected.
import createClient from "openapi-fetch";
import type { paths } from "./relay-api.js";

function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`scenario step failed: ${what}`);
  }
}

const [baseUrl, username, password, partner] = process.argv.slice(2);
check(baseUrl && username && password && partner, "usage: scenario.js <base URL> <username> <password> <partner>");

// Log in.
const anonymous = createClient<paths>({ baseUrl });
const login = await anonymous.POST("/api/auth/token/", { body: { username, password } });
check(login.data, `log in: ${login.response.status}`);
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${login.data.access}` } });

// Find a person.
const people = await api.GET("/api/messages/participants/", { params: { query: { search: partner.slice(0, 2) } } });
check(people.data, `participants: ${people.response.status}`);
const person = people.data.results.find((candidate) => candidate.username === partner);
check(person, `${partner} is not among the participants`);

// Send text, a file as multipart and a file as base64 JSON.
const text = await api.POST("/api/messages/send/", { body: { recipient_id: person.id, body: "Hello from openapi-fetch" } });
check(text.response.status === 201 && text.data, `send text: ${text.response.status}`);
check(text.data.reply_to === null && text.data.attachment === null, "a plain message has null reply_to and attachment");

const fileBytes = new TextEncoder().encode("notes from openapi-fetch\n");
const upload = await api.POST("/api/messages/send/", {
  body: { recipient_id: person.id, body: "a file", attachment: "notes.txt" },
  // multipart/form-data: the same fields as parts, the file as a file part.
  bodySerializer: () => {
    const form = new FormData();
    form.append("recipient_id", String(person.id));
    form.append("body", "a file");
    form.append("attachment", new Blob([fileBytes], { type: "text/plain" }), "notes.txt");
    return form;
  },
});
check(upload.response.status === 201 && upload.data, `send a file (multipart): ${upload.response.status}`);
check(upload.data.attachment?.name === "notes.txt", "the multipart file is the message's attachment");

const encoded = await api.POST("/api/messages/send/", {
  body: {
    recipient_id: person.id,
    body: "", // openapi-typescript makes a field with a default required
    attachment: { name: "b64.txt", content_type: "text/plain", data: Buffer.from("base64 bytes").toString("base64") },
  },
});
check(encoded.response.status === 201 && encoded.data?.attachment?.size === 12, "send a file (base64 JSON)");

// List the conversations.
const conversations = await api.GET("/api/messages/conversations/");
check(conversations.data, `conversations: ${conversations.response.status}`);
const conversation = conversations.data.results.find((row) => row.participant.id === person.id);
check(conversation && conversation.last_message.id === encoded.data.id, "the conversation's last message is the last sent");

// Page the thread by cursor. The thread's answer is a cursor page, or with `anchor` a window around a
// message: the type says which by its fields.
const first = await api.GET("/api/messages/with/{user_id}/", {
  params: { path: { user_id: person.id }, query: { page_size: 2 } },
});
check(first.data && "results" in first.data && first.data.next, `thread, first page: ${first.response.status}`);
const cursor = new URL(first.data.next).searchParams.get("cursor") ?? undefined;
const second = await api.GET("/api/messages/with/{user_id}/", {
  params: { path: { user_id: person.id }, query: { page_size: 2, cursor } },
});
check(second.data && "results" in second.data, `thread, second page: ${second.response.status}`);
const paged = [...first.data.results, ...second.data.results].map((message) => message.id);
check(new Set(paged).size === 4, "two pages of the thread hold four different messages");

// Read the thread around its newest message.
const around = await api.GET("/api/messages/with/{user_id}/", {
  params: { path: { user_id: person.id }, query: { anchor: "newest", num_before: 1 } },
});
check(around.data && "messages" in around.data, `thread around the newest: ${around.response.status}`);
check(around.data.anchor === encoded.data.id && around.data.found_newest, "the newest message is the anchor");
check(around.data.messages.length === 2, "the anchor and one message before it");

// Mark the conversation read (the partner wrote first).
const marked = await api.PUT("/api/messages/mark-conversation-read/{user_id}/", {
  params: { path: { user_id: person.id } },
});
check(marked.data && marked.data.marked_read >= 1, `mark read: ${marked.response.status}`);

// Search.
const found = await api.POST("/api/messages/search/", { body: { query: "openapi-fetch", has_attachment: false } });
check(found.data?.results.some((message) => message.id === text.data.id), `search: ${found.response.status}`);

// Mute.
const muted = await api.PUT("/api/messages/with/{user_id}/mute/", { params: { path: { user_id: person.id } } });
check(muted.data?.muted === true, `mute: ${muted.response.status}`);

// Edit the file's message: its body, not its file.
const edited = await api.PATCH("/api/messages/{id}/", {
  params: { path: { id: upload.data.id } },
  body: { body: "a file, with notes" },
});
check(edited.data && edited.data.body === "a file, with notes", `edit: ${edited.response.status}`);
check(edited.data.edited_at && edited.data.attachment?.name === "notes.txt", "the edit keeps the file");

// Download the file.
const download = await api.GET("/api/messages/{id}/attachment/", {
  params: { path: { id: upload.data.id } },
  parseAs: "arrayBuffer",
});
check(download.data && Buffer.from(download.data).equals(Buffer.from(fileBytes)), "download the file");

// Delete one message for yourself.
const deleted = await api.DELETE("/api/messages/{id}/", { params: { path: { id: text.data.id } } });
check(deleted.response.status === 204, `delete: ${deleted.response.status}`);

// Unread count.
const unread = await api.GET("/api/messages/unread-count/");
check(unread.data && unread.data.unread_count === 0 && unread.data.badge_count === 0, "unread count");

// Open the stream: 200, text/event-stream, a `retry:` line first.
const stream = await api.GET("/api/messages/events", { parseAs: "stream" });
check(stream.response.status === 200, `stream: ${stream.response.status}`);
check(stream.response.headers.get("content-type")?.startsWith("text/event-stream"), "stream content type");
check(stream.data, "stream body");
const reader = stream.data.getReader();
let opening = "";
while (!opening.includes("\n")) {
  const chunk = await reader.read();
  check(!chunk.done, "the stream ended before its first line");
  opening += new TextDecoder().decode(chunk.value);
}
await reader.cancel();
check(opening.startsWith("retry:"), `the stream starts with a retry line: ${JSON.stringify(opening.slice(0, 40))}`);

console.log(
  JSON.stringify({
    partner: person.id,
    sent: [text.data.id, upload.data.id, encoded.data.id],
    deleted: text.data.id,
    marked_read: marked.data.marked_read,
    stream_opening: opening.split("\n", 1)[0],
  }),
);
