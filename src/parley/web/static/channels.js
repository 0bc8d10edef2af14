// The Channels page (Updates): followed channels with unread counts, the directory, a channel's posts with
// reactions and polls, follow / mute, forward to a chat, creating a channel, the admins' composer and info.
// Every name and text from the server goes into the DOM with textContent: a channel named <script> stays text.

import { api, ApiError, newClientId, session, streamUrl, uploadMedia } from "./api.js";
import { signInAndReturn } from "./return-to.js";
import { mountSubscription } from "./subscription-offer.js";

const $ = (id) => document.getElementById(id);
const state = {
  channel: null, // the open channel, as GET /channels/{id} answers
  posts: new Map(), // post id -> its <li>
  category: "",
  offset: 0,
  socket: null,
  retry: 1000,
  invitedTo: new Set(), // channels whose admin invitation waits for this person
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("aria") || key.startsWith("data")) node.setAttribute(key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function showError(id, error) {
  const box = $(id);
  if (!error) {
    box.hidden = true;
    return;
  }
  box.textContent = error instanceof ApiError ? error.message : String(error.message || error);
  box.hidden = false;
}

function followersText(n) {
  return n === 1 ? "1 follower" : `${n.toLocaleString()} followers`;
}

function picture(holder, channel) {
  holder.replaceChildren();
  if (channel.picture_url) holder.append(el("img", { src: channel.picture_url, alt: "" }));
  else holder.textContent = (channel.name.trim()[0] || "#").toUpperCase();
}

function marks(channel) {
  const out = [];
  if (channel.verified) out.push(el("span", { class: "channel-mark", title: "Verified channel", text: "✓" }, el("span", { class: "visually-hidden", text: " verified" })));
  if (channel.paid) out.push(el("span", { class: "channel-mark paid", title: "Offers a subscription", text: "◆" }, el("span", { class: "visually-hidden", text: " subscription" })));
  return out;
}

function channelItem(channel, detail) {
  const avatar = el("span", { class: "avatar", ariaHidden: "true" });
  picture(avatar, channel);
  const title = el("span", { class: "chat-item-title", text: channel.name });
  const row = el("span", { class: "chat-item-row" }, el("span", { class: "channel-item-name" }, title, ...marks(channel)));
  if (channel.unread) row.append(el("span", { class: "unread-badge", text: String(channel.unread), ariaLabel: `${channel.unread} unread` }));
  const body = el("span", { class: "chat-item-body" }, row, el("span", { class: "chat-item-preview", text: detail }));
  const button = el("button", { type: "button", class: "chat-item channel-item" }, avatar, body);
  button.dataset.channelId = channel.id;
  button.addEventListener("click", () => openChannel(channel.id));
  return el("li", {}, button);
}

// ---- lists ----

async function loadFollowed() {
  const { channels } = await api("GET", "/channels/followed");
  $("followed-list").replaceChildren(...channels.map((c) => channelItem(c, (c.muted ? "Muted · " : "") + followersText(c.follower_count))));
  $("followed-empty").hidden = channels.length > 0;
}

async function loadMine() {
  const [{ channels }, { invitations }] = await Promise.all([api("GET", "/channels/mine"), api("GET", "/channels/invitations")]);
  // Invitations to be an admin come first: opening the channel shows "Accept" in its info.
  $("mine-list").replaceChildren(
    ...invitations.map((i) => channelItem(i.channel, "Invited to be an admin: open it to accept")),
    ...channels.map((c) => channelItem(c, `${c.role === "owner" ? "Owner" : "Admin"} · ${followersText(c.follower_count)}`)),
  );
  $("mine-section").hidden = channels.length + invitations.length === 0;
  state.invitedTo = new Set(invitations.map((i) => i.channel.id));
}

async function loadDirectory(more = false) {
  state.offset = more ? state.offset : 0;
  const params = new URLSearchParams({ sort: $("directory-sort").value, limit: "20", offset: String(state.offset) });
  const q = $("directory-q").value.trim();
  const country = $("directory-country").value.trim();
  if (q) params.set("q", q);
  if (country.length === 2) params.set("country", country);
  if (state.category) params.set("category", state.category);
  try {
    const page = await api("GET", `/channels/directory?${params}`);
    const items = page.channels.map((c) => channelItem(c, `${c.category} · ${c.country} · ${followersText(c.follower_count)}`));
    if (more) $("directory-list").append(...items);
    else $("directory-list").replaceChildren(...items);
    state.offset = page.next_offset || 0;
    $("directory-more").hidden = !page.next_offset;
    $("directory-empty").hidden = more || page.channels.length > 0;
    showError("side-error", null);
  } catch (error) {
    showError("side-error", error);
  }
}

async function setUpCategories() {
  const { categories } = await api("GET", "/channels/categories");
  $("create-category").replaceChildren(...categories.map((c) => el("option", { value: c, text: c[0].toUpperCase() + c.slice(1) })));
  const chip = (value, label) => {
    const button = el("button", { type: "button", class: "chip", text: label, ariaPressed: String(value === state.category) });
    button.addEventListener("click", () => {
      state.category = value;
      for (const other of $("category-chips").children) other.setAttribute("aria-pressed", String(other === button));
      loadDirectory();
    });
    return button;
  };
  $("category-chips").replaceChildren(chip("", "All"), ...categories.map((c) => chip(c, c[0].toUpperCase() + c.slice(1))));
}

// ---- a channel ----

async function openChannel(id) {
  try {
    showChannel(await api("GET", `/channels/${id}`));
  } catch (error) {
    showError("side-error", error);
  }
}

async function openByCode(code) {
  try {
    showChannel(await api("GET", `/channels/by-code/${encodeURIComponent(code)}`));
  } catch (error) {
    showError("side-error", error);
  }
}

function showChannel(channel) {
  state.channel = channel;
  $("channels-app").classList.add("chat-open");
  $("channel-empty").hidden = true;
  $("channel-view").hidden = false;
  paintHeader();
  $("channel-info").hidden = true;
  $("channel-info-toggle").setAttribute("aria-expanded", "false");
  $("post-composer").hidden = !channel.role;
  $("post-exclusive-label").hidden = !channel.paid;
  mountSubscription($("channel-subscription"), { kind: "channel", id: channel.id });
  history.replaceState(null, "", `/channels/c/${channel.invite_code}`);
  loadPosts();
  // The link in an invitation message leads here: show the "Accept" button at once.
  if (!channel.role && state.invitedTo.has(channel.id)) toggleInfo();
}

function paintHeader() {
  const channel = state.channel;
  $("channel-name").textContent = channel.name;
  picture($("channel-picture"), channel);
  $("channel-verified").hidden = !channel.verified;
  $("channel-paid").hidden = !channel.paid;
  $("channel-followers").textContent = followersText(channel.follower_count);
  $("channel-follow").textContent = channel.following ? "Unfollow" : "Follow";
  $("channel-follow").hidden = channel.role === "owner";
  $("channel-mute").hidden = !channel.following;
  $("channel-mute").textContent = channel.muted ? "Unmute" : "Mute";
  $("channel-mute").setAttribute("aria-pressed", String(channel.muted));
  $("channel-description").textContent = channel.description || "No description.";
  $("channel-link").textContent = channel.link;
}

async function loadPosts(before = null) {
  const channel = state.channel;
  const query = before ? `?before_seq=${before}` : "";
  try {
    const page = await api("GET", `/channels/${channel.id}/posts${query}`);
    if (!before) state.posts.clear();
    const items = page.posts.map(postItem);
    if (before) $("post-list").prepend(...items);
    else {
      $("post-list").replaceChildren(...items);
      if (!items.length) $("post-list").append(el("li", { class: "empty-list", text: "No posts in the last 30 days." }));
    }
    $("posts-older").hidden = !page.more;
    $("posts-older").dataset.before = page.posts.length ? page.posts[0].seq : "";
    if (!before) scrollToEnd();
    if (channel.following && page.last_seq) markRead(page.last_seq);
    showError("channel-error", null);
  } catch (error) {
    showError("channel-error", error);
  }
}

function scrollToEnd() {
  const box = $("posts");
  box.scrollTop = box.scrollHeight;
}

async function markRead(seq) {
  try {
    await api("POST", `/channels/${state.channel.id}/read`, { seq });
    loadFollowed();
  } catch {
    /* the unread count stays; nothing a person must act on */
  }
}

function postItem(post) {
  const li = el("li", { class: "post" });
  li.dataset.postId = post.id;
  state.posts.set(post.id, li);
  paintPost(li, post);
  return li;
}

function paintPost(li, post) {
  li.replaceChildren();
  li.post = post;
  if (post.locked) {
    li.append(el("p", { class: "post-locked", text: "🔒 A post for subscribers" }));
    li.append(el("time", { class: "post-time", text: new Date(post.created_at).toLocaleString() }));
    return;
  }
  if (post.exclusive) li.append(el("p", { class: "post-exclusive", text: "For subscribers" }));
  if (post.media_url) li.append(el("img", { class: "post-image", src: post.media_url, alt: post.text ? `Image: ${post.text}` : "Image posted in the channel" }));
  if (post.text) li.append(el("p", { class: "post-text", text: post.text }));
  if (post.link) {
    const a = el("a", { href: post.link.url, text: post.link.preview || post.link.url, rel: "noopener noreferrer nofollow", target: "_blank" });
    li.append(el("p", { class: "post-link" }, a));
  }
  if (post.poll) li.append(pollBox(post));
  const footer = el("div", { class: "post-footer" }, reactionChips(post));
  const forward = el("button", { type: "button", class: "link-button post-forward", text: "Forward" });
  forward.addEventListener("click", () => openForward(post));
  const actions = el("span", { class: "post-actions" });
  if (state.channel.role) {
    const edit = el("button", { type: "button", class: "link-button post-edit", text: "Edit" });
    edit.addEventListener("click", () => editPost(li, post));
    const remove = el("button", { type: "button", class: "link-button post-delete", text: "Delete" });
    remove.addEventListener("click", () => deletePost(post));
    actions.append(edit, remove);
  }
  actions.append(forward);
  footer.append(el("span", { class: "post-meta" }, el("time", { class: "post-time", text: new Date(post.created_at).toLocaleString() }), post.edited_at ? el("span", { text: " · edited" }) : null), actions);
  li.append(footer);
}

// Admins edit a post's text in place: the text becomes a field with Save and Cancel.
function editPost(li, post) {
  const field = el("textarea", { class: "post-edit-field", rows: 2, maxLength: 4096, value: post.text || "", ariaLabel: "Post text" });
  const save = el("button", { type: "submit", class: "button primary small", text: "Save" });
  const cancel = el("button", { type: "button", class: "link-button", text: "Cancel" });
  const form = el("form", { class: "post-edit-form", noValidate: true }, field, el("span", { class: "post-actions" }, cancel, save));
  cancel.addEventListener("click", () => paintPost(li, li.post));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const edited = await api("PATCH", `/channels/${state.channel.id}/posts/${post.id}`, { text: field.value });
      paintPost(li, edited);
    } catch (error) {
      showError("channel-error", error);
    }
  });
  li.replaceChildren(form);
  field.focus();
}

async function deletePost(post) {
  if (!window.confirm("Delete this post for every follower?")) return;
  try {
    await api("DELETE", `/channels/${state.channel.id}/posts/${post.id}`);
    const li = state.posts.get(post.id);
    if (li) li.remove();
    state.posts.delete(post.id);
  } catch (error) {
    showError("channel-error", error);
  }
}

function pollBox(post) {
  const box = el("fieldset", { class: "poll" }, el("legend", { text: post.poll.question }));
  const voted = post.poll.my_vote !== null && post.poll.my_vote !== undefined;
  post.poll.options.forEach((option, index) => {
    const button = el("button", {
      type: "button",
      class: "poll-option",
      text: `${option.text} · ${option.votes} ${option.votes === 1 ? "vote" : "votes"}`,
      ariaPressed: String(post.poll.my_vote === index),
      disabled: voted || !state.channel.following,
    });
    button.addEventListener("click", async () => {
      try {
        const updated = await api("POST", `/channels/${state.channel.id}/posts/${post.id}/vote`, { option: index });
        paintPost(state.posts.get(post.id), { ...updated, reactions: post.reactions, my_reaction: post.my_reaction });
      } catch (error) {
        showError("channel-error", error);
      }
    });
    box.append(button);
  });
  return box;
}

function reactionChips(post) {
  const box = el("div", { class: "post-reactions", role: "group", ariaLabel: "Reactions" });
  for (const emoji of state.channel.allowed_reactions) {
    const count = post.reactions[emoji] || 0;
    const mine = post.my_reaction === emoji;
    const chip = el("button", {
      type: "button",
      class: "chip post-reaction",
      text: count ? `${emoji} ${count}` : emoji,
      ariaPressed: String(mine),
      ariaLabel: `${emoji} ${count}`,
      disabled: !state.channel.following && !state.channel.role,
    });
    chip.addEventListener("click", () => react(post, mine ? null : emoji));
    box.append(chip);
  }
  return box;
}

async function react(post, emoji) {
  const url = `/channels/${state.channel.id}/posts/${post.id}/reaction`;
  try {
    const result = emoji === null ? await api("DELETE", url) : await api("PUT", url, { emoji });
    const li = state.posts.get(post.id);
    paintPost(li, { ...li.post, reactions: result.reactions, my_reaction: result.my_reaction });
  } catch (error) {
    showError("channel-error", error);
  }
}

// ---- live ----

function connect() {
  const socket = new WebSocket(streamUrl());
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.retry = 1000;
  });
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    onEvent(event);
  });
  socket.addEventListener("close", (close) => {
    if (close.code === 4409 || close.code === 1008) return; // another window took over, or signed out
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 30000);
  });
}

function onEvent(event) {
  const open = state.channel;
  if (event.type === "channel_post") {
    if (open && event.channel_id === open.id && !state.posts.has(event.post.id)) {
      const empty = $("post-list").querySelector(".empty-list");
      if (empty) empty.remove();
      $("post-list").append(postItem(event.post));
      scrollToEnd();
      if (open.following) markRead(event.post.seq);
    } else {
      loadFollowed();
    }
  } else if (event.type === "channel_reactions" && open && event.channel_id === open.id) {
    const li = state.posts.get(event.post_id);
    if (li) paintPost(li, { ...li.post, reactions: event.reactions });
  } else if ((event.type === "channel_post_edited") && open && event.channel_id === open.id) {
    const li = state.posts.get(event.post.id);
    if (li) paintPost(li, { ...event.post, my_reaction: li.post.my_reaction });
  } else if (event.type === "channel_followers" && open && event.channel_id === open.id) {
    // Sent to the channel's admins only, whenever someone follows or unfollows.
    open.follower_count = event.follower_count;
    $("channel-followers").textContent = followersText(event.follower_count);
  } else if (event.type === "channel_post_deleted" && open && event.channel_id === open.id) {
    const li = state.posts.get(event.post_id);
    if (li) li.remove();
  }
}

// ---- actions ----

async function toggleFollow() {
  const channel = state.channel;
  try {
    const updated = await api(channel.following ? "DELETE" : "PUT", `/channels/${channel.id}/follow`);
    state.channel = updated;
    paintHeader();
    loadPosts();
    loadFollowed();
    loadDirectory();
  } catch (error) {
    showError("channel-error", error);
  }
}

async function toggleMute() {
  try {
    state.channel = await api("PUT", `/channels/${state.channel.id}/mute`, { muted: !state.channel.muted });
    paintHeader();
    loadFollowed();
  } catch (error) {
    showError("channel-error", error);
  }
}

async function toggleInfo() {
  const info = $("channel-info");
  info.hidden = !info.hidden;
  $("channel-info-toggle").setAttribute("aria-expanded", String(!info.hidden));
  if (info.hidden) return;
  const channel = state.channel;
  $("channel-admins-box").hidden = !channel.role;
  $("admin-invite").hidden = channel.role !== "owner";
  $("admin-invitation").hidden = true;
  if (channel.role) {
    const { admins } = await api("GET", `/channels/${channel.id}/admins`);
    $("channel-admins").replaceChildren(
      ...admins.map((a) => el("li", { class: "member", text: `${a.name || "Someone"}${a.you ? " (you)" : ""} · ${a.role}${a.status === "active" ? "" : " · " + a.status}` })),
    );
  } else {
    const { invitations } = await api("GET", "/channels/invitations");
    $("admin-invitation").hidden = !invitations.some((i) => i.channel.id === channel.id);
  }
}

async function inviteAdmin(event) {
  event.preventDefault();
  const phone = $("admin-invite-phone").value.trim();
  if (!phone) return;
  try {
    await api("POST", `/channels/${state.channel.id}/admins`, { phone });
    $("admin-invite-phone").value = "";
    $("channel-info").hidden = true;
    await toggleInfo();
  } catch (error) {
    showError("channel-error", error);
  }
}

async function acceptAdmin() {
  try {
    showChannel(await api("POST", `/channels/${state.channel.id}/admins/accept`));
    loadMine();
  } catch (error) {
    showError("channel-error", error);
  }
}

function composerType() {
  const type = $("post-type").value;
  $("post-image-row").hidden = type !== "image";
  $("post-poll-row").hidden = type !== "poll";
  $("post-text").placeholder = type === "poll" ? "The question" : type === "image" ? "A caption (optional)" : "Write an update";
}

async function submitPost(event) {
  event.preventDefault();
  const type = $("post-type").value;
  const text = $("post-text").value.trim();
  const body = { type, client_id: newClientId(), exclusive: $("post-exclusive").checked };
  const submit = $("post-submit");
  submit.disabled = true;
  try {
    if (type === "text") body.text = text;
    if (type === "image") {
      const file = $("post-image").files[0];
      if (!file) throw new Error("Choose an image first.");
      body.media_id = (await uploadMedia(file)).id;
      if (text) body.text = text;
    }
    if (type === "poll") {
      const options = $("post-poll-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
      body.poll = { question: text, options };
    }
    const post = await api("POST", `/channels/${state.channel.id}/posts`, body);
    if (!state.posts.has(post.id)) {
      const empty = $("post-list").querySelector(".empty-list");
      if (empty) empty.remove();
      $("post-list").append(postItem(post));
      scrollToEnd();
    }
    $("post-text").value = "";
    $("post-poll-options").value = "";
    $("post-image").value = "";
    showError("channel-error", null);
  } catch (error) {
    showError("channel-error", error);
  } finally {
    submit.disabled = false;
  }
}

async function createChannel(event) {
  event.preventDefault();
  const submit = $("create-submit");
  submit.disabled = true;
  try {
    const body = {
      name: $("create-name").value,
      description: $("create-description").value,
      category: $("create-category").value,
      country: $("create-country").value.trim(),
    };
    const file = $("create-picture").files[0];
    if (file) body.picture_media_id = (await uploadMedia(file)).id;
    const channel = await api("POST", "/channels", body);
    $("create-form").reset();
    $("create-channel").open = false;
    showError("side-error", null);
    await loadMine();
    loadDirectory();
    showChannel(channel);
  } catch (error) {
    showError("side-error", error);
  } finally {
    submit.disabled = false;
  }
}

let forwarding = null;

async function openForward(post) {
  forwarding = post;
  showError("forward-error", null);
  try {
    const { chats } = await api("GET", "/chats");
    $("forward-chat").replaceChildren(...chats.map((c) => el("option", { value: c.id, text: c.title || "Chat" })));
    if (!chats.length) showError("forward-error", "You have no chats yet: start one from Chats.");
  } catch (error) {
    showError("forward-error", error);
  }
  $("forward-picker").hidden = false;
  $("forward-chat").focus();
}

function closeForward() {
  $("forward-picker").hidden = true;
  forwarding = null;
}

async function sendForward(event) {
  event.preventDefault();
  const chatId = $("forward-chat").value;
  if (!forwarding || !chatId) return;
  try {
    await api("POST", `/channels/${state.channel.id}/posts/${forwarding.id}/forward`, { chat_id: chatId, client_id: newClientId() });
    closeForward();
  } catch (error) {
    showError("forward-error", error);
  }
}

function back() {
  $("channels-app").classList.remove("chat-open");
  $("channel-view").hidden = true;
  $("channel-empty").hidden = false;
  state.channel = null;
  history.replaceState(null, "", "/channels");
}

async function main() {
  if (!session.token) {
    signInAndReturn();
    return;
  }
  $("create-form").addEventListener("submit", createChannel);
  $("directory-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadDirectory();
  });
  let typing = null;
  $("directory-q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => loadDirectory(), 250);
  });
  $("directory-sort").addEventListener("change", () => loadDirectory());
  $("directory-country").addEventListener("input", () => loadDirectory());
  $("directory-more").addEventListener("click", () => loadDirectory(true));
  $("channel-back").addEventListener("click", back);
  $("channel-follow").addEventListener("click", toggleFollow);
  $("channel-mute").addEventListener("click", toggleMute);
  $("channel-info-toggle").addEventListener("click", toggleInfo);
  $("admin-invite").addEventListener("submit", inviteAdmin);
  $("admin-accept").addEventListener("click", acceptAdmin);
  $("post-type").addEventListener("change", composerType);
  $("post-composer").addEventListener("submit", submitPost);
  $("posts-older").addEventListener("click", () => loadPosts($("posts-older").dataset.before));
  $("forward-form").addEventListener("submit", sendForward);
  $("forward-cancel").addEventListener("click", closeForward);
  try {
    await setUpCategories();
    await Promise.all([loadFollowed(), loadMine(), loadDirectory()]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.clear();
      location.replace("/");
      return;
    }
    showError("side-error", error);
  }
  $("channels-app").setAttribute("aria-busy", "false");
  connect();
  const code = location.pathname.match(/^\/channels\/c\/([^/]+)$/);
  if (code) openByCode(decodeURIComponent(code[1]));
}

main();
