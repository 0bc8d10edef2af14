// The analytics period picker: a preset or the granularity applies at once; editing a date switches to custom
// dates (the form works without this script: Show submits it).

const form = document.getElementById("analytics-period");
const days = document.getElementById("period-days");
const granularity = document.getElementById("period-granularity");

if (form && days && granularity) {
  days.addEventListener("change", () => {
    if (days.value !== "custom") form.requestSubmit();
  });
  granularity.addEventListener("change", () => form.requestSubmit());
  for (const id of ["period-from", "period-to"]) {
    document.getElementById(id)?.addEventListener("input", () => {
      days.value = "custom";
    });
  }
}
