// The dashboard's entry point (placeholder until the dashboard lands).
document.getElementById('status').textContent = 'Accord dashboard';
document.body.dataset.ready = '1';
