/**
 * The demo's hires: deterministic, with what real HR exports contain: duplicates in other letter cases,
 * people who are already members, and rows that cannot be valid.
 */
const FIRST = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'frances', 'john', 'margaret', 'ken', 'radia', 'tim'];
const LAST = ['lovelace', 'turing', 'hopper', 'dijkstra', 'liskov', 'knuth', 'allen', 'backus', 'hamilton', 'thompson', 'perlman', 'berners'];
const ROLES = ['responder', 'member', 'team_lead', 'billing_admin'];

export interface DemoSample {
  invites: Array<Record<string, unknown>>;
  /** Addresses the sandbox already counts as members. */
  members: string[];
}

export function demoSample(count = 120): DemoSample {
  const invites: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length] as string;
    invites.push({ email: `${first}.${last}${i}@example.com`, role: ROLES[i % ROLES.length] });
  }
  const members = [0, 7, 21, 42, 63, 99].map((i) => String(invites[i]?.email));
  // The same people again, as a second export would list them.
  for (const i of [3, 14, 15, 92, 65]) invites.push({ email: String(invites[i]?.email).toUpperCase() });
  invites.push({ email: 'not-an-address', role: 'member' });
  invites.push({ email: 'root@example.com', role: 'admin' });
  invites.push({ email: 'lead@example.com', role: 'owner' });
  invites.push({ email: 'evil@example.com\r\nBcc: all@example.com' });
  return { invites, members };
}
