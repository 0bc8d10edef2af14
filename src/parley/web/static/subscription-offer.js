// The subscription offer inside a channel's page or a paid group's join screen. The subscriptions package
// owns this module: mountSubscription(element, {kind: "channel" | "group", id}) fills `element` with the price
// and a Subscribe button (or "Subscribed until …" and Cancel) once its API exists; until then it leaves it empty.
export async function mountSubscription(element, target) {
  element.replaceChildren();
  element.dataset.target = `${target.kind}:${target.id}`;
}
