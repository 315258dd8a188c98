// The login page: POST /api/v1/session, then back to the page that was asked for.
import { api, setCsrf } from '../api.js';
import { h, clear, field, errorBox } from '../ui.js';
import { param, go } from '../state.js';
import { session } from '../session.js';

export async function render(main) {
  document.title = 'Log in · Tally';
  const next = param('next', '/');
  // Only a page path of this site, never another origin.
  const target = next.startsWith('/') && !next.startsWith('//') ? next : '/';
  if (session.current) return go(target);
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  clear(main, h('section', { class: 'panel login' }, h('h1', {}, 'Log in to Tally'),
    h('form', {
      class: 'stack', id: 'login-form', onsubmit: async (ev) => {
        ev.preventDefault();
        submit.disabled = true;
        try {
          const s = await api('/session', { method: 'POST', body: { username: username.value, password: password.value }, quietAuth: true });
          session.current = s;
          setCsrf(s.csrf);
          document.dispatchEvent(new Event('tally:login'));
          go(target);
        } catch (e) {
          clear(status, errorBox(e.status === 401 ? 'Wrong user name or password.' : e));
          submit.disabled = false;
        }
      },
    }, field('User name', username), field('Password', password), status, submit)));
  username.focus();
}
