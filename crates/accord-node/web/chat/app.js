// The chat client's entry point (placeholder until the client lands).
document.getElementById('status').textContent = 'Accord chat';
document.body.dataset.ready = '1';
