import { afterEach, describe, expect, it } from 'vitest';
import { loomdb } from './cli-helper.js';
import { chatEvents, HostProcess, tempDir } from './host-client.js';

const hosts: HostProcess[] = [];
const dirs: Array<ReturnType<typeof tempDir>> = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.kill();
  for (const d of dirs.splice(0)) d.remove();
});

const eventIds = (page: { items: Array<{ node: { properties: { eventId: string } } }> }) => page.items.map((i) => i.node.properties.eventId);

describe('the host shares its database with other processes', () => {
  it('two host instances on one database (Chrome starts one per port) each write and read everything', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const a = HostProcess.start(tmp.db, tmp.log);
    const b = HostProcess.start(tmp.db, tmp.log);
    hosts.push(a, b);
    const events = chatEvents(2, 30);
    const [fromA, fromB] = await Promise.all([a.call('submitEvents', { events: events.slice(0, 30) }), b.call('submitEvents', { events: events.slice(30) })]);
    expect([...fromA, ...fromB].every((r: { stored: boolean }) => r.stored)).toBe(true);
    await Promise.all([a.settled(), b.settled()]);
    for (const host of [a, b]) {
      expect(eventIds(await host.call('getChatHistory', { conversationId: 'session-0', limit: 100 }))).toEqual(events.slice(0, 30).map((e) => e.id));
      expect(eventIds(await host.call('getChatHistory', { conversationId: 'session-1', limit: 100 }))).toEqual(events.slice(30).map((e) => e.id));
    }
    // Each event was applied once, by whichever host leased it.
    const [sa, sb] = [await a.call('stats'), await b.call('stats')];
    expect(sa.weaver.processed + sb.weaver.processed).toBe(60);
    expect(sa.inbox).toMatchObject({ pending: 0, done: 60, dead: 0 });
    expect(await a.close()).toEqual({ code: 0, signal: null });
    expect(await b.close()).toEqual({ code: 0, signal: null });
  });

  it('the loomdb CLI reads what the host wrote while the host runs, and the host keeps answering', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const host = HostProcess.start(tmp.db, tmp.log);
    hosts.push(host);
    await host.call('submitEvents', { events: chatEvents(3, 10) });
    await host.settled();
    const stats = await loomdb(['stats', '--path', tmp.db]);
    expect(stats.status, stats.stderr).toBe(0);
    expect(stats.json.nodes).toBeGreaterThanOrEqual(33);
    const [listed, history] = await Promise.all([
      loomdb(['query', '--path', tmp.db, '--type', 'Message', '--where', 'conversationId=session-2', '--limit', '100']),
      host.call('getChatHistory', { conversationId: 'session-2', limit: 100 }),
    ]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.json.items.map((n: { properties: { eventId: string } }) => n.properties.eventId).sort()).toEqual(eventIds(history).sort());
    expect(eventIds(history)).toHaveLength(10);
    // Written after the CLI looked: the host is still writing and answering.
    await host.call('submitEvents', { events: [{ id: 'late', type: 'message', conversationId: 'session-2', role: 'user', content: 'one more', timestamp: Date.UTC(2027, 0, 1) }] });
    await host.settled();
    const again = await loomdb(['query', '--path', tmp.db, '--type', 'Message', '--where', 'conversationId=session-2', '--limit', '100']);
    expect(again.json.items).toHaveLength(11);
    expect(await host.close()).toEqual({ code: 0, signal: null });
  });
});
