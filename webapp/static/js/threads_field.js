// A field that means something with one backend only (data-shown-with-backend="hybrid": threads per
// rank) is shown only while that backend is chosen (the job form's backend select, or one of a study's
// backend checkboxes), and disabled while hidden, so a value typed for it is not sent with another
// backend. Without scripts the field is always there, and the server refuses it for another backend.

for (const input of document.querySelectorAll("[data-shown-with-backend]")) {
  const form = input.form;
  const wrapper = input.closest(".field") || input;
  const wanted = input.dataset.shownWithBackend;
  // An error the server put on the field stays in sight: the user must see what was refused.
  const refused = wrapper.classList.contains("has-error");
  const show = () => {
    const chosen = [...form.querySelectorAll('select[name="backend"], input[name="backends"]:checked')].some(
      (control) => control.value === wanted,
    );
    wrapper.hidden = input.disabled = !(chosen || refused);
  };
  form.addEventListener("change", show);
  show();
}
