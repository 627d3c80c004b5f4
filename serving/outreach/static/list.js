// The outreach list in the browser: filters, search, and (on the service) an outcome form
// per row that posts to /outcomes with the page's same-site cookie.
const rows = [...document.querySelectorAll('tbody tr')];
const field = id => document.getElementById(id);
function applyFilters() {
  const tier = field('f-tier').value, assignment = field('f-assignment').value;
  const segment = field('f-segment').value, reason = field('f-reason').value;
  const search = field('f-search').value.trim().toLowerCase();
  const risk = parseFloat(field('f-risk').value);
  const prevented = field('f-prevented') ? parseFloat(field('f-prevented').value) : NaN;
  let shown = 0;
  for (const row of rows) {
    const d = row.dataset;
    const ok = (!tier || d.tier === tier) && (!assignment || d.assignment === assignment)
      && (!segment || d.segment === segment)
      && (!reason || d.reasons.split(',').includes(reason))
      && (!search || d.customer.toLowerCase().includes(search))
      && (isNaN(risk) || parseFloat(d.risk) >= risk)
      && (isNaN(prevented) || (d.prevented !== '' && parseFloat(d.prevented) >= prevented));
    row.hidden = !ok;
    if (ok) shown++;
  }
  field('shown').textContent = shown;
}
document.querySelectorAll('.filters select, .filters input').forEach(el => {
  el.addEventListener('input', applyFilters);
  el.addEventListener('change', applyFilters);
});
document.querySelectorAll('button.record').forEach(button => button.addEventListener('click',
  () => button.nextElementSibling.classList.toggle('open')));
document.querySelectorAll('form.outcome').forEach(form => form.addEventListener('submit',
  async event => {
    event.preventDefault();
    const row = form.closest('tr'), data = new FormData(form);
    const outcome = {customer_id: row.dataset.customer, list_date: document.body.dataset.listDate,
      contacted_at: new Date().toISOString(), reached: data.get('reached') === 'on',
      outcome_code: data.get('outcome_code'), note: data.get('note') || null};
    const answer = await fetch('/outcomes', {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({outcomes: [outcome]})});
    const body = await answer.json().catch(() => ({}));
    const result = (body.results || [])[0] || {};
    const cell = row.querySelector('.outcome-cell');
    if (answer.ok && result.status !== 'error') {
      cell.querySelector('.status').textContent =
        `recorded: ${outcome.outcome_code} (${outcome.reached ? 'reached' : 'not reached'})`;
      cell.querySelector('.status').className = 'status recorded';
      form.classList.remove('open');
    } else {
      cell.querySelector('.status').textContent = 'not recorded: ' + (result.error || body.error || answer.status);
    }
  }));
applyFilters();
