// The settings panel's profile (name and photo) and "Who can see my last seen and online"; profile photos in
// avatars. The group-add choice beside them stays in app.js.

const $ = (id) => document.getElementById(id);

/** Shows the profile photo `photoId` in an avatar circle (over its initials); nothing when there is none. */
export function paintPhoto(node, photoId, loadMedia) {
  if (!node) return;
  node.dataset.photoId = photoId || "";
  if (!photoId) return;
  loadMedia(photoId).then((url) => {
    if (node.dataset.photoId !== photoId) return; // repainted meanwhile
    const img = document.createElement("img");
    img.className = "avatar-photo";
    img.alt = "";
    img.src = url;
    node.replaceChildren(img);
  }, () => { /* the initials stay */ });
}

/** The photos of the people in the chat list's direct chats. */
export function paintListPhotos(list, chats, loadMedia) {
  for (const item of list.querySelectorAll(".chat-item")) {
    const photoId = chats.get(item.dataset.chatId)?.peer?.photo_id;
    if (photoId) paintPhoto(item.querySelector(".avatar"), photoId, loadMedia);
  }
}

export class SettingsPanel {
  /**
   * @param app {call, uploadMedia, loadMedia, paintAvatar, me(), setMe(me), status(text), showError(message),
   *             privacyChanged(privacy)}
   */
  constructor(app) {
    this.app = app;
    this.saves = 0; // only the newest last-seen save's answer is shown
    $("profile-form").addEventListener("submit", (event) => this.saveName(event));
    $("photo-choose").addEventListener("click", () => $("photo-input").click());
    $("photo-input").addEventListener("change", (event) => this.uploadPhoto(event));
    $("photo-remove").addEventListener("click", () => this.removePhoto());
    $("last-seen").addEventListener("change", (event) => this.saveLastSeen(event));
    $("ads-prefs")?.addEventListener("change", () => this.saveAds());
  }

  /** The panel opened: show the profile as it is. */
  opened() {
    const me = this.app.me();
    $("profile-name").value = me.name || "";
    this.showProfile(me);
    this.loadAds();
  }

  /** "Ads you see elsewhere": opt-in topics (GET/PUT /ads/preferences); without consent no topic is kept. */
  async loadAds() {
    if (!$("ads-prefs")) return;
    try {
      this.showAds(await this.app.call("GET", "/ads/preferences"));
    } catch (error) {
      this.app.showError(error.message);
    }
  }

  showAds(prefs) {
    const box = $("ads-interests");
    box.replaceChildren();
    for (const segment of prefs.segments) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "ads-interest";
      input.value = segment.name;
      input.checked = prefs.interests.includes(segment.name);
      input.disabled = !prefs.consented || prefs.market_only; // signals: EU/EEA numbers are never interest-targeted
      label.append(input, " " + segment.label);
      box.append(label);
    }
    $("ads-consent").checked = prefs.consented;
    $("ads-prefs").disabled = false;
  }

  async saveAds() {
    const consented = $("ads-consent").checked;
    const interests = consented
      ? [...document.querySelectorAll('#ads-interests input[name="ads-interest"]:checked')].map((i) => i.value)
      : [];
    await this.saving(async () => {
      this.showAds(await this.app.call("PUT", "/ads/preferences", { consented, interests }));
    });
  }

  focusName() {
    $("profile-name").focus();
  }

  showProfile(me) {
    this.app.paintAvatar($("profile-avatar"), me.name || me.phone);
    paintPhoto($("profile-avatar"), me.photo_id, this.app.loadMedia);
    $("photo-remove").hidden = !me.photo_id;
  }

  /** The privacy settings as the server has them (after GET or PATCH /privacy). */
  showPrivacy(privacy) {
    for (const input of document.querySelectorAll('#last-seen input[name="last-seen"]')) {
      input.checked = input.value === privacy.last_seen;
    }
    $("last-seen").disabled = false;
  }

  async saveName(event) {
    event.preventDefault();
    const name = $("profile-name").value.trim();
    if (!name) {
      this.app.showError("Enter a name: it's what people see instead of your number.");
      return;
    }
    await this.saving(async () => {
      const me = await this.app.call("PATCH", "/me", { name });
      this.app.setMe({ ...this.app.me(), ...me });
    });
  }

  async uploadPhoto(event) {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    await this.saving(async () => {
      const media = await this.app.uploadMedia(file);
      const { photo_id: photoId } = await this.app.call("PUT", "/me/photo", { media_id: media.id });
      this.setPhoto(photoId);
    });
  }

  async removePhoto() {
    await this.saving(async () => {
      await this.app.call("DELETE", "/me/photo");
      this.setPhoto(null);
      $("photo-choose").focus();
    });
  }

  setPhoto(photoId) {
    const me = { ...this.app.me(), photo_id: photoId };
    this.app.setMe(me);
    this.showProfile(me);
  }

  async saveLastSeen(event) {
    const save = ++this.saves;
    this.app.status("Saving…");
    try {
      const privacy = await this.app.call("PATCH", "/privacy", { last_seen: event.target.value });
      if (save !== this.saves) return;
      this.app.privacyChanged(privacy);
      this.app.status("Saved");
    } catch (error) {
      if (save !== this.saves) return;
      this.app.privacyChanged(null); // the server kept the old choice: show that one
      this.app.status("");
      this.app.showError(error.message);
    }
  }

  async saving(work) {
    this.app.status("Saving…");
    try {
      await work();
      this.app.status("Saved");
    } catch (error) {
      this.app.status("");
      this.app.showError(error.message);
    }
  }
}
