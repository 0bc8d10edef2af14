// Group info, opened from the group's header: name, members with their roles; admins add members (from their
// contacts or by number), remove them, make or dismiss admins; anyone leaves. Everything goes through the
// groups API; other members' pages hear a `chat` event and reload the group.

import { el, paintAvatar } from "./render.js";
import { paintPhoto } from "./settings-panel.js";
import { mountSubscription } from "./subscription-offer.js";

const $ = (id) => document.getElementById(id);

export class GroupInfo {
  /**
   * @param app {call, loadMedia, me(), open(), group(id), contacts(), setGroup(group), left(groupId)}
   */
  constructor(app) {
    this.app = app;
    this.groupId = null;
    $("chat-info").addEventListener("click", () => this.toggle());
    $("chat-heading").addEventListener("click", () => this.toggle());
    $("chat-avatar").addEventListener("click", () => this.toggle());
    $("group-info-close").addEventListener("click", () => this.close());
    $("group-info").addEventListener("keydown", (event) => { if (event.key === "Escape") this.close(); });
    $("group-add-member").addEventListener("submit", (event) => this.addMember(event));
    $("group-leave").addEventListener("click", () => this.leave());
  }

  get isOpen() {
    return this.groupId !== null;
  }

  toggle() {
    const open = this.app.open();
    if (open?.type !== "group") return;
    if (this.groupId === open.id) this.close();
    else this.show(open.id);
  }

  show(groupId) {
    this.groupId = groupId;
    $("group-info").hidden = false;
    $("chat-info").setAttribute("aria-expanded", "true");
    this.error(null);
    this.render();
    $("group-info-close").focus();
  }

  close() {
    if (!this.isOpen) return;
    this.groupId = null;
    this.planShown = null;
    $("group-info").hidden = true;
    $("chat-info").setAttribute("aria-expanded", "false");
  }

  /** Another chat opened, or this group changed (here or on another member's page). */
  update() {
    const open = this.app.open();
    if (!this.isOpen) return;
    if (open?.id !== this.groupId) this.close();
    else this.render();
  }

  render() {
    const group = this.app.group(this.groupId);
    const title = this.app.open()?.title || "";
    $("group-info-name").textContent = group?.name || title;
    const members = group?.members || [];
    const meId = this.app.me().user_id;
    const amAdmin = members.some((m) => m.user_id === meId && m.role === "admin");
    $("group-info-count").textContent = group ? `Group · ${members.length} member${members.length === 1 ? "" : "s"}` : "Loading…";
    $("group-add-member").hidden = !amAdmin;
    this.showPlan(amAdmin);
    $("group-members").replaceChildren(...members.map((member) => this.memberItem(member, meId, amAdmin)));
    const known = new Set(members.map((m) => m.user_id));
    const options = this.app.contacts().filter((person) => !known.has(person.user_id))
      .map((person) => el("option", { attrs: { value: person.phone, label: person.name || person.phone } }));
    $("group-add-contacts").replaceChildren(...options);
  }

  /** The paid group's plan: the admin's earnings (or a form to sell access), a member's own subscription. */
  showPlan(amAdmin) {
    const shown = `${this.groupId}:${amAdmin}`;
    if (this.planShown === shown) return;
    this.planShown = shown;
    mountSubscription($("group-plan"), { kind: "group", id: this.groupId, canCreate: amAdmin });
  }

  memberItem(member, meId, amAdmin) {
    const isMe = member.user_id === meId;
    const name = isMe ? "You" : member.name || member.phone;
    const avatar = paintAvatar(el("span", { class: "avatar", attrs: { "aria-hidden": "true" } }), member.name || member.phone);
    paintPhoto(avatar, member.photo_id, this.app.loadMedia);
    const actions = [];
    if (amAdmin && !isMe) {
      const admin = member.role === "admin";
      actions.push(
        el("button", {
          class: "link-button member-admin", text: admin ? "Dismiss as admin" : "Make admin",
          attrs: { type: "button", "aria-label": `${admin ? "Dismiss" : "Make"} ${name} ${admin ? "as admin" : "an admin"}` },
          on: { click: () => this.change(admin ? "DELETE" : "PUT", `/admins/${member.user_id}`) },
        }),
        el("button", {
          class: "link-button danger member-remove", text: "Remove",
          attrs: { type: "button", "aria-label": `Remove ${name}` },
          on: { click: () => this.change("DELETE", `/members/${member.user_id}`) },
        }),
      );
    }
    return el("li", { class: "member", dataset: { userId: member.user_id, role: member.role } },
      avatar,
      el("span", { class: "member-text" },
        el("span", { class: "member-name", text: name }),
        el("span", { class: "member-phone", text: member.phone })),
      member.role === "admin" ? el("span", { class: "member-role", text: "Group admin" }) : null,
      actions.length ? el("span", { class: "member-actions" }, ...actions) : null);
  }

  async addMember(event) {
    event.preventDefault();
    const input = $("group-add-phone");
    const typed = input.value.trim();
    if (!typed) {
      this.error("Enter the phone number of the person to add, with the country code.");
      return;
    }
    // A contact picked by name from the list fills in the number; a typed name is looked up among contacts.
    const contact = this.app.contacts().find((p) => p.name && p.name.toLowerCase() === typed.toLowerCase());
    const phone = contact ? contact.phone : typed;
    const group = await this.change("POST", "/members", { phones: [phone] });
    if (!group) return;
    input.value = "";
    const invited = (group.invited || []).map((person) => person.error?.message).filter(Boolean);
    if (invited.length) this.error(invited.join(" "));
  }

  /** One admin change; answers the changed group (shown at once), or null after showing why it failed. */
  async change(method, path, body) {
    const groupId = this.groupId;
    this.error(null);
    try {
      const group = await this.app.call(method, `/groups/${groupId}${path}`, body);
      this.app.setGroup(group);
      if (this.groupId === groupId) this.render();
      return group;
    } catch (error) {
      this.error(error.message);
      return null;
    }
  }

  async leave() {
    const groupId = this.groupId;
    this.error(null);
    try {
      await this.app.call("POST", `/groups/${groupId}/leave`);
      this.close();
      this.app.left(groupId);
    } catch (error) {
      this.error(error.message);
    }
  }

  error(message) {
    $("group-info-error").textContent = message || "";
    $("group-info-error").hidden = !message;
  }
}
