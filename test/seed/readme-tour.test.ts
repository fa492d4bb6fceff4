/**
 * The README's five-minute tour, run against the demo world that `npm start` seeds: every command of
 * the tour is replayed (its tokens issued as `datapact tokens issue` issues them, its requests made),
 * every answer shown is matched against the server's (`…` stands for any text), and every number and
 * state the tour states is recomputed. A README claim that drifts from the server fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { issueDevelopmentToken } from '../../src/cli/commands/tokens.js';
import { notInEffectCause } from '../../src/domain/agreement.js';
import { fieldsOf, type Field } from '../../src/domain/field-catalog.js';
import { windDownPhase } from '../../src/domain/wind-down.js';
import { DEMO_MEMBER_ID, DEMO_SEED, seedDemoWorld, type DemoWorldSummary } from '../../src/seed/demo-world.js';
import { memberIdAt } from '../../src/seed/member-ids.js';
import { build, type Built } from '../helpers/build.js';
import { PROJECT_ROOT } from '../../src/project-root.js';

const NOW = Date.parse('2026-11-15T12:00:00Z');
const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const TOUR = README.slice(README.indexOf('## A five-minute tour'), README.indexOf('## The Graph API'));
const TOUR_SHELL = TOUR.slice(TOUR.indexOf('```sh\n') + 6, TOUR.indexOf('```', TOUR.indexOf('```sh\n') + 6));

/** An example answer as a pattern: `…` is any text, the rest is literal. */
function examplePattern(example: string): RegExp {
  return new RegExp(`^${example.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?')}$`, 's');
}

/** The value of `--name` in a command line. */
function option(line: string, name: string): string | undefined {
  return new RegExp(`--${name} (\\S+)`).exec(line)?.[1];
}

interface World {
  readonly built: Built;
  readonly summary: DemoWorldSummary;
  token(line: string): Promise<string>;
  get(token: string, url: string): Promise<{ statusCode: number; body: string; json(): any }>;
}

let world: World;

before(async () => {
  const built = await build(undefined, NOW);
  const summary = await seedDemoWorld(built.store, { now: NOW });
  const token = async (line: string) => (await issueDevelopmentToken(built.store, {
    member: option(line, 'member')!, app: option(line, 'app')!, purpose: option(line, 'purpose')!,
    fields: option(line, 'fields')!.split(',') as Field[], friendFields: (option(line, 'friend-fields')?.split(',') ?? []) as Field[], ttlDays: 30,
  }, NOW)).token;
  const get = (bearer: string, url: string) => built.app.inject({ url, headers: { authorization: `Bearer ${bearer}` } });
  world = { built, summary, token, get };
});

after(async () => {
  await world.built.app.close();
  await world.built.store.db.destroy();
});

/** The tour's shell block as commands: continuation lines joined, each with the example answer under it. */
function tourCommands(): Array<{ command: string; example: string | null }> {
  const lines = TOUR_SHELL.replace(/\\\n\s*/g, '').split('\n');
  const commands: Array<{ command: string; example: string | null }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#') || line.trim() === '') continue;
    let example = '';
    while (lines[i + 1]?.startsWith('# {') || (example !== '' && lines[i + 1]?.startsWith('#  '))) example += lines[++i]!.slice(2).trim();
    commands.push({ command: line, example: example === '' ? null : example });
  }
  return commands;
}

async function allFriends(app: FastifyInstance, bearer: string, fields: string): Promise<any[]> {
  const friends: any[] = [];
  let after: string | undefined;
  do {
    const response = await app.inject({
      url: `/v1/me/friends?fields=${fields}&limit=100${after === undefined ? '' : `&after=${after}`}`, headers: { authorization: `Bearer ${bearer}` },
    });
    assert.equal(response.statusCode, 200, response.body);
    friends.push(...response.json().data);
    after = response.json().paging?.after;
  } while (after !== undefined);
  return friends;
}

describe('the README tour, against the demo world', () => {
  test('every command of the tour gives the answer the README shows', async () => {
    const tokens = new Map<string, string>();
    let last: any = null;
    let friendId: string | undefined;
    const commands = tourCommands();
    assert.ok(commands.length >= 7, 'the tour was read');
    for (const { command, example } of commands) {
      const assignment = /^(\w+)=\$\((npx datapact tokens issue .*)\)$/.exec(command);
      if (assignment) {
        tokens.set(assignment[1]!, await world.token(assignment[2]!));
        continue;
      }
      const curl = /^curl -s -H "Authorization: Bearer \$(\w+)" (?:'http:\/\/localhost:8080([^']+)'|http:\/\/localhost:8080(\S+))$/.exec(command);
      assert.ok(curl, `a command the tour test does not know: ${command}`);
      const url = (curl[2] ?? curl[3])!
        .replace('<paging.after>', () => last.paging.after)
        .replace('<a friend id>', () => friendId!);
      const response = await world.get(tokens.get(curl[1]!)!, url);
      last = response.json();
      if (Array.isArray(last.data) && last.data.length > 0) friendId ??= last.data[0].id;
      if (example === null) assert.equal(response.statusCode, 200, `${command}: ${response.body}`);
      else assert.match(response.body, examplePattern(example), command);
    }
  });

  test('the demo world is as large as the tour says', async () => {
    const { store } = world.built;
    const [, members, friends] = /The demo world has ([\d,]+)\s+members with about (\d+) friends each \(a third of them/.exec(TOUR)!;
    assert.equal(world.summary.members, Number(members!.replace(/,/g, '')));
    const average = (2 * world.summary.friendships) / world.summary.members;
    assert.ok(Math.abs(average - Number(friends)) < 5, `about ${friends} friends each: ${average}`);
    const all = Array.from({ length: world.summary.members }, (_, i) => memberIdAt(DEMO_SEED, i));
    const settings = await store.members.settings(all);
    const sharing = all.filter((id) => settings.get(id)?.shareViaFriends).length / all.length;
    assert.ok(sharing > 0.3 && sharing < 0.37, `a third share through friends: ${sharing}`);
  });

  test("the demo member's friends, and those a device partner's app sees", async () => {
    const [, member, friends, visible] = /The demo member is `(m_\w+)`, with (\d+) friends, (\d+) of whom a device partner's app can see/.exec(TOUR)!;
    assert.equal(member, DEMO_MEMBER_ID);
    assert.equal((await world.built.store.friendships.page(DEMO_MEMBER_ID, null, 10_000)).length, Number(friends));
    const token = await world.token(/TOKEN=\$\((npx datapact tokens issue .*?)\)/s.exec(TOUR_SHELL.replace(/\\\n\s*/g, ''))![1]!);
    assert.equal((await allFriends(world.built.app, token, 'name')).length, Number(visible));
  });

  test("the partners' table: each app's agreement in the state the tour gives", async () => {
    const { store } = world.built;
    const rows = [...TOUR.matchAll(/^\| ([^|]+?) \((\w\w)(?:, `(\w+)`)?\) \| `(app_\w+)` \| ([^|]+?) \|$/gm)];
    assert.equal(rows.length, world.summary.partners);
    for (const [, , country, riskFlag, appId, claim] of rows) {
      const app = (await store.partners.app(appId!))!;
      const partner = (await store.partners.partner(app.partnerId))!;
      assert.equal(partner.country, country, appId);
      if (riskFlag) assert.ok(partner.riskFlags.includes(riskFlag as never), `${appId} ${riskFlag}`);
      const agreement = await store.agreements.currentForApp(appId!, NOW);
      const cause = agreement && notInEffectCause(agreement, NOW);
      if (claim!.startsWith('winding down: `no_new_grants` is past')) {
        assert.equal(agreement!.status, 'winding_down', appId);
        assert.equal(windDownPhase(agreement!.windDown!, NOW), 'no_new_grants', appId);
      } else if (claim!.startsWith('active, with friend fields')) {
        assert.deepEqual([agreement!.status, cause], ['active', null], appId);
        const friendFields = fieldsOf(agreement!.friendFields);
        assert.ok(friendFields.length > 0, appId);
        assert.equal(friendFields.includes('religion'), claim!.includes('`religion` among them'), appId);
      } else if (claim === 'expired') {
        assert.equal(cause, 'expired', appId);
      } else if (claim === 'suspended: certification overdue') {
        assert.deepEqual([agreement!.status, cause], ['suspended', 'certification_overdue'], appId);
      } else if (claim!.startsWith('registered, no agreement')) {
        assert.equal(agreement, undefined, appId);
      } else if (claim === 'an ordinary third-party app, purpose `login`') {
        assert.equal(app.class, 'third_party');
        assert.deepEqual([agreement!.purposes, cause], [['login'], null], appId);
      } else {
        assert.fail(`a claim the tour test does not check: ${appId}: ${claim}`);
      }
    }
  });

  test('the apps to try: the causes named, the Huawei wind-down, the third-party app', async () => {
    const member = `--member ${DEMO_MEMBER_ID}`;
    const causes = [...TOUR.matchAll(/`(app_\w+)` \(cause `(\w+)`\)/g)];
    assert.ok(causes.length >= 2);
    for (const [, appId, cause] of causes) {
      const response = await world.get(await world.token(`${member} --app ${appId} --purpose device_experience --fields id,name`), '/v1/me');
      assert.equal(response.statusCode, 403, appId);
      assert.deepEqual([response.json().error.code, response.json().error.cause], ['agreement_not_in_effect', cause], appId);
    }

    assert.match(TOUR, /`app_huawei` \(works until\s+its `no_friend_data` date, after which friend fields come back as `wind_down`\)/);
    const huawei = await world.token(`${member} --app app_huawei --purpose device_experience --fields id,name,friends --friend-fields name,birthday`);
    const before = await allFriends(world.built.app, huawei, 'name');
    assert.ok(before.length > 0 && before.every((friend) => typeof friend.name === 'string'));
    const plan = (await world.built.store.agreements.currentForApp('app_huawei', NOW))!.windDown!;
    world.built.setNow(plan.noFriendData);
    try {
      const after = await allFriends(world.built.app, huawei, 'name');
      assert.ok(after.length > 0 && after.every((friend) => friend.name === undefined && friend.withheld.name === 'wind_down'));
    } finally {
      world.built.setNow(NOW);
    }

    assert.match(TOUR, /`app_pixelharbour` with\s+`--purpose login` \(a third-party app: only friends who use the app themselves, and only their `id`,\s+`name` and `picture`\)/);
    // "The rules": the README's example of a friend through the third-party app, for a member who consented to id,name,friends.
    const rules = README.slice(README.indexOf('## The rules'));
    const [, fields, example] = /consented to `([\w,]+)` sees a friend who plays too as\s+`(\{.*?\})` for/s.exec(rules)!;
    const namesOnly = await world.token(`${member} --app app_pixelharbour --purpose login --fields ${fields}`);
    const shown = (await world.get(namesOnly, '/v1/me/friends?fields=name,picture,birthday')).json().data;
    assert.ok(shown.length > 0);
    for (const friend of shown) assert.match(JSON.stringify(friend), examplePattern(example!));

    const game = await world.token(`${member} --app app_pixelharbour --purpose login --fields id,name,picture,friends`);
    const friends = await allFriends(world.built.app, game, 'name,picture,birthday');
    assert.ok(friends.length > 0);
    const users = await world.built.store.grants.activeUsersOf('app_pixelharbour', friends.map((f) => f.id), NOW);
    for (const friend of friends) {
      assert.ok(users.has(friend.id), 'every friend shown uses the app');
      assert.equal(friend.withheld.birthday, 'third_party_friend_data');
      assert.deepEqual(Object.keys(friend).filter((key) => key !== 'withheld').sort(), ['id', 'name', 'picture'].filter((key) => key in friend).sort());
    }
  });
});
