// Who is logged in: `{user, role, csrf}` from GET /api/v1/session, or null.
export const session = { current: null };
export const isAdmin = () => Boolean(session.current && session.current.role === 'administrator');
