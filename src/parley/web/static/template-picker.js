// An approved template picked for a send: the select, one input per variable, the filled-in preview and the
// price. The inbox's composer and its "New conversation" panel both use it (each with its own elements).

import { el } from "./render.js";

const VARIABLE = /\{\{\s*([a-z0-9_]+)\s*\}\}/gi;

export class TemplatePicker {
  /**
   * @param {{select: HTMLSelectElement, price: HTMLElement, preview: HTMLElement, vars: HTMLElement,
   *          empty: HTMLElement, prefill?: boolean, onChange?: () => void}} parts
   * `prefill` puts the template's examples into the inputs (else they are only placeholders).
   */
  constructor(parts) {
    Object.assign(this, { prefill: false, onChange: () => {} }, parts);
    this.templates = [];
    this.select.addEventListener("change", () => {
      this.renderVariables();
      this.onChange();
    });
  }

  /** Offers these templates, keeping the chosen one when it is still offered. */
  setTemplates(templates, billing) {
    const chosen = this.selected();
    this.templates = templates;
    this.billing = billing;
    this.select.replaceChildren(...templates.map((t, i) => {
      const option = el("option", { text: `${t.name} · ${t.language} · ${t.category.toLowerCase()}`, attrs: { value: String(i) } });
      option.selected = Boolean(chosen && chosen.name === t.name && chosen.language === t.language);
      return option;
    }));
    this.empty.hidden = templates.length > 0;
    this.select.disabled = templates.length === 0;
    this.renderVariables();
  }

  selected() {
    return this.templates[Number(this.select.value)] || null;
  }

  names() {
    const template = this.selected();
    if (!template) return [];
    return template.variable_names || Array.from({ length: template.variables || 0 }, (_, i) => String(i + 1));
  }

  inputs() {
    return [...this.vars.querySelectorAll(".template-var")];
  }

  values() {
    return this.inputs().map((input) => input.value.trim());
  }

  complete() {
    return this.values().every(Boolean);
  }

  /** The Cloud API `template` object of the send: positional parameters, or named ones for a NAMED template. */
  request() {
    const template = this.selected();
    if (!template) return null;
    const named = template.parameter_format === "NAMED";
    const values = this.values();
    const parameters = this.names().map((name, i) => ({
      type: "text", text: values[i] || (template.examples || [])[i] || "x", ...(named ? { parameter_name: name } : {}),
    }));
    return { name: template.name, language: { code: template.language },
      components: parameters.length ? [{ type: "body", parameters }] : [] };
  }

  renderVariables() {
    const template = this.selected();
    const examples = template?.examples || [];
    // The same template offered again (a refresh) keeps what was typed; another one starts from its examples.
    const key = template ? `${template.name}/${template.language}` : null;
    const typed = key === this.shown ? this.values() : null;
    this.shown = key;
    this.vars.replaceChildren(...this.names().map((name, i) => el("input", {
      class: "template-var", dataset: { index: String(i + 1), name },
      attrs: { type: "text", placeholder: examples[i] || `{{${name}}}`, "aria-label": `Variable {{${name}}}`, maxlength: "1024",
        value: typed ? typed[i] || "" : this.prefill ? examples[i] || "" : "" },
      on: { input: () => { this.renderPreview(); this.onChange(); } },
    })));
    this.setPrice(template?.price);
    this.renderPreview();
  }

  /** The next offer starts afresh (a new conversation, a reopened panel), not with what was typed before. */
  forget() {
    this.shown = null;
  }

  clearValues() {
    for (const input of this.inputs()) input.value = "";
    this.renderPreview();
  }

  /** A price {amount, currency}; null (free) reads "No charge" while billing is on; undefined: not known yet. */
  setPrice(price) {
    const template = this.selected();
    this.price.textContent = !template || price === undefined ? "" : price ? `${price.amount} ${price.currency}`
      : this.billing ? "No charge" : "";
    this.price.dataset.price = price ? price.amount : "";
  }

  renderPreview() {
    const template = this.selected();
    const names = this.names();
    const values = this.values();
    this.preview.textContent = template
      ? template.body.replace(VARIABLE, (whole, name) => values[names.indexOf(name)] || whole) : "";
  }
}
