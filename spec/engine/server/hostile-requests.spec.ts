import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { WebSocket } from 'ws';
import { requestTarget } from '../../../engine/server/http-handler.js';
import { startServer, type LiveServer } from '../../../engine/server/live-server.js';
import type { RunEvent } from '../../../streams/events.js';
import { rawRequest } from './raw-requests.js';

const get = (target: string, headers = 'Host: 127.0.0.1\r\n') =>
  `GET ${target} HTTP/1.1\r\n${headers}\r\n`;
const upgrade = (target: string, extra = '') =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

/** Resolves once a WebSocket client has connected and been sent the run list. */
function wsWorks(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.on('message', () => {
      ws.terminate();
      resolve(true);
    });
    ws.on('error', () => resolve(false));
  });
}

describe('live server: hostile HTTP requests', () => {
  let runsDir: string;
  let server: LiveServer;
  before(async () => {
    runsDir = mkdtempSync(join(tmpdir(), 'pw-hostile-'));
    server = await startServer({ runsDir, live$: new Subject<RunEvent>(), port: 0 });
  });
  after(async () => {
    await server.close();
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('splits any request target without throwing', () => {
    for (const t of ['//', '//[', '%', '/%zz', '*', 'http://x/', 'http://[/', '', '?', '/#?a']) {
      expect(() => requestTarget(t), t).not.to.throw();
    }
    expect(requestTarget('//?token=%zz')).to.deep.include({ pathname: '//' });
    expect(requestTarget('//?token=%zz')?.query.get('token')).to.equal('%zz');
    expect(requestTarget('http://127.0.0.1:4/ws?token=a')).to.deep.include({
      pathname: '/ws',
      authority: '127.0.0.1:4',
    });
    expect(requestTarget('*')).to.equal(null);
    expect(requestTarget('127.0.0.1:80')).to.equal(null);
  });

  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['//', get('//'), / 404 /],
    ['//[', get('//['), / 404 /],
    ['%', get('%'), / 40[04] /],
    ['/%zz', get('/%zz'), / 404 /],
    ['/?token=%zz', get('/?token=%zz'), / 200 /],
    ['absolute-form, loopback', get('http://127.0.0.1/'), / 200 /],
    ['absolute-form, other host', get('http://evil.example/'), / 403 /],
    ['absolute-form, bad', get('http://[/'), / 400 /],
    ['asterisk', 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', / 400 /],
    ['authority-form', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', /^$|400/],
    ['very long target', get('/' + 'a'.repeat(70_000)), / 431 |^$/],
    ['many headers', get('/', 'Host: 127.0.0.1\r\n' + 'X-A: b\r\n'.repeat(3000)), / 431 | 200 |^$/],
    ['control byte in a header', get('/', 'Host: 127.0.0.1\r\nX-A: \x01\r\n'), / 400 /],
    ['no Host', 'GET / HTTP/1.1\r\n\r\n', / 400 | 403 /],
    ['two Hosts', get('/', 'Host: 127.0.0.1\r\nHost: evil.example\r\n'), / [24]0\d /],
    ['HTTP/1.0, no headers', 'GET / HTTP/1.0\r\n\r\n', / 403 /],
    ['not HTTP', 'hello\r\n\r\n', / 400 /],
    ['binary garbage', Buffer.from([0, 255, 13, 10, 13, 10, 1, 2]), / 400 |^$/],
    ['lone CR', 'GET / HTTP/1.1\rHost: x\r\n\r\n', / 400 /],
    ['bad method', 'G\u00e9T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', / 400 /],
    [
      'POST with a body',
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc',
      / 405 /,
    ],
    [
      'bad Content-Length',
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n',
      / 400 /,
    ],
    ['upgrade //', upgrade('//'), / 404 /],
    ['upgrade //[', upgrade('//['), / 404 /],
    ['upgrade *', upgrade('*'), / 400 /],
    ['upgrade absolute-form elsewhere', upgrade('http://evil.example/ws'), / 403 /],
    ['upgrade /ws?token=%zz', upgrade('/ws?token=%zz'), / 101 /],
    ['upgrade, foreign origin', upgrade('/ws', 'Origin: http://evil.example\r\n'), / 403 /],
    ['upgrade, origin null', upgrade('/ws', 'Origin: null\r\n'), / 403 /],
    ['upgrade, bad version', upgrade('/ws').replace('Version: 13', 'Version: 99'), / 400 /],
    ['upgrade, no key', upgrade('/ws').replace(/Sec-WebSocket-Key.*\r\n/, ''), / 400 /],
    [
      'upgrade, two keys',
      upgrade('/ws', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n'),
      / 400 /,
    ],
    ['upgrade h2c', upgrade('/ws').replace('Upgrade: websocket', 'Upgrade: h2c'), / 400 /],
    ['upgrade by POST', upgrade('/ws').replace('GET', 'POST'), / 405 |^$| 400 /],
    ['upgrade, bad extension', upgrade('/ws', 'Sec-WebSocket-Extensions: ;;;\r\n'), / 400 |101/],
    ['upgrade, bad protocol', upgrade('/ws', 'Sec-WebSocket-Protocol: a b, ,\r\n'), / 400 /],
    ['upgrade with a first frame', upgrade('/ws') + '\x81\x85', / 101 /],
  ];
  for (const [name, data, expected] of cases) {
    it(`answers ${name} and stays up`, async () => {
      const reply = await rawRequest(server.port, data, { waitMs: 500 });
      expect(reply.status, name).to.match(expected);
      expect(await wsWorks(server.port)).to.equal(true);
    });
  }

  it('survives clients that reset mid-request and mid-upgrade', async () => {
    for (const data of [
      get('//'),
      upgrade('/ws'),
      upgrade('//'),
      upgrade('/ws', 'Origin: x\r\n'),
    ]) {
      for (let i = 0; i < 5; i++) await rawRequest(server.port, data, { reset: true });
    }
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).to.equal(200);
    expect(await wsWorks(server.port)).to.equal(true);
  });
});
