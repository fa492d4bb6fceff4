import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maskOf } from '../../src/domain/field-catalog.js';
import { consentPage, FRIENDS_OPT_IN_NOTE } from '../../src/oauth/consent-page.js';
import { escapeHtml } from '../../src/web/html.js';
import { loginPage } from '../../src/oauth/login-page.js';
import { DEVICE_PARTNER, authorizationRequest, logIn, oauthWorld } from './oauth-world.js';

/** Every form control with an id has a label for it; the page has a language and a title. */
function assertAccessible(html: string): void {
  assert.match(html, /<html lang="en">/);
  assert.match(html, /<title>[^<]+<\/title>/);
  assert.match(html, /<main>/);
  for (const [, id] of html.matchAll(/<input (?!type="hidden")[^>]*\sid="([^"]+)"/g)) {
    assert.match(html, new RegExp(`<label for="${id}">`), `a label for #${id}`);
  }
}

describe('the consent page', () => {
  test('names the partner and its country, where the data is kept, the purpose, the fields and the end date', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('dev', DEVICE_PARTNER);
    const request = await authorizationRequest(await world.discover(appId), {
      scope: 'openid name email friends friends.birthday friends.religion',
      purpose: 'contacts_sync',
    });
    const browser = world.browser();
    const page = await logIn(browser, await browser.visit(request.url));
    const html = page.html;
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(html, /<dt>Company<\/dt><dd>dev Ltd, China \(CN\)<\/dd>/);
    assert.match(html, /<dt>Where your data is kept<\/dt><dd>On dev Ltd’s servers in Canada \(CA\)<\/dd>/);
    assert.match(html, /<dt>Purpose<\/dt><dd>to keep your phone contacts in sync \(<code>contacts_sync<\/code>\)<\/dd>/);
    assert.match(html, /<dt>Agreement ends<\/dt><dd><time datetime="2027-03-28T00:00:00.000Z">28 March 2027<\/time><\/dd>/);
    // How long the partner keeps it, its privacy policy, and where to change one's mind.
    assert.match(html, /<dt>How long it is kept<\/dt><dd>Deleted at most 30 days after it is received<\/dd>/);
    assert.match(html, /<dt>Privacy policy<\/dt><dd><a href="https:\/\/dev.example\/privacy"[^>]*>dev Ltd’s privacy policy<\/a>/);
    assert.match(html, /<a href="\/privacy"[^>]*>privacy center<\/a>/);
    assert.match(html, /<header>\n<p><strong>Datapact<\/strong><\/p>/);
    // Member fields: a checkbox each, none ticked (consent is an act); id fixed.
    assert.match(html, /<input type="checkbox" id="scope-id" checked disabled/);
    assert.doesNotMatch(html, /name="scope" value="id"/);
    for (const scope of ['name', 'email', 'friends']) assert.match(html, new RegExp(`name="scope" value="${scope}">`));
    assert.doesNotMatch(html, /name="scope" value="[^"]+" checked/, 'nothing is ticked beforehand');
    // Friend fields, with the note; sensitive ones are said never to leave, and offer no checkbox.
    assert.match(html, /<legend>About your friends<\/legend>/);
    assert.ok(html.includes(FRIENDS_OPT_IN_NOTE));
    assert.match(html, /name="scope" value="friends.birthday">/);
    assert.doesNotMatch(html, /value="friends.religion"/);
    assert.match(html, /never shared: Religion/);
    assertAccessible(html);
  });

  test('data kept on the device says so; a third-party app has no friend section', async (t) => {
    const world = await oauthWorld(t);
    const { appId } = await world.partner('game', {
      appClass: 'third_party',
      agreement: { purposes: ['login'], storage: { location: 'on_device' }, memberFields: ['id', 'name', 'friends'] },
    });
    const request = await authorizationRequest(await world.discover(appId), { scope: 'name friends', purpose: 'login' });
    const browser = world.browser();
    const html = (await logIn(browser, await browser.visit(request.url))).html;
    assert.match(html, /On your device only/);
    assert.doesNotMatch(html, /About your friends/);
    assert.match(html, /only friends who also use this app, and only their name and picture/);
  });

  test('every interpolated text is escaped', () => {
    const evil = '<script>alert(1)</script>"\'&';
    const html = consentPage({
      uid: 'u1', csrfToken: '"><script>', memberId: evil,
      app: { id: 'a', partnerId: 'p', name: evil, class: 'device_partner', status: 'active' },
      partner: { id: 'p', legalName: evil, country: evil, kind: 'device_maker', riskFlags: [], storage: { location: 'on_device' }, contacts: [], webhookUrl: null, privacyPolicyUrl: null },
      agreement: {
        id: 'agr', version: 1, partnerId: 'p', status: 'active', purposes: ['login'], memberFields: 0, friendFields: 0,
        startsAt: 0, endsAt: Date.UTC(2027, 0, 1), certificationDueAt: 0, windDown: null, appIds: [], retentionDays: 1,
        storage: { location: 'partner_servers', country: evil }, statusReason: null,
      },
      purpose: 'login', memberFields: maskOf(['name']), friendFields: maskOf(['name']), neverSharedFriendFields: 0,
    });
    assert.ok(!html.includes('<script>'), 'no markup from data');
    assert.ok(html.includes(escapeHtml(evil)));
    const login = loginPage({ uid: 'u1', csrfToken: 't', appName: evil, partnerName: evil, memberId: evil, failed: true });
    assert.ok(!login.includes('<script>'));
    assertAccessible(login);
  });
});
