// Parley Pay's payment bubble: amount, note, status, and a way to the receipt (wallet.js shows it).

const STATUS_LABELS = { completed: "Paid", pending: "Waiting for PIN" };

function node(tag, className, text) {
  const element = document.createElement(tag);
  element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** One line for chat lists and quotes. */
export function paymentPreview(payment) {
  return `Payment: ${payment.amount} ${payment.currency}`;
}

/** The bubble's body (which side it is on says who paid whom). */
export function paymentBody(payment) {
  const card = node("div", "biz-card payment-card");
  card.dataset.paymentId = payment.payment_id;
  card.append(
    node("span", "biz-card-label payment-label", "Payment"),
    node("span", "payment-amount", `${payment.amount} ${payment.currency}`),
  );
  if (payment.note) card.append(node("span", "biz-card-detail payment-note", payment.note));
  card.append(node("span", "payment-status", STATUS_LABELS[payment.status] || payment.status));
  const receipt = node("button", "link-button payment-receipt", "View receipt");
  receipt.type = "button";
  receipt.setAttribute("aria-label", `View receipt: ${payment.amount} ${payment.currency}`);
  receipt.addEventListener("click", () => {
    document.dispatchEvent(new CustomEvent("parley:payment-receipt", { detail: payment.payment_id }));
  });
  card.append(receipt);
  return [card];
}
