import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN } from './run.ts';
import { parsePasswordHash, verifyPassword } from '../../src/identity/passwords.ts';

/** Runs `expeditor passwords hash …` with `input` on stdin (a pipe, not a terminal). */
function hash(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'passwords', 'hash', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('expeditor passwords hash', () => {
  it('hashes the first line of stdin with argon2id by default; the hash verifies that password only', async () => {
    const r = await hash([], 'correct horse battery\r\nsecond line ignored\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
    const h = parsePasswordHash(r.stdout.trim());
    assert.equal(await verifyPassword(h, 'correct horse battery'), true);
    assert.equal(await verifyPassword(h, 'correct horse battery\r'), false);
  });

  it('hashes with scrypt on request, reading a password without a final newline', async () => {
    const r = await hash(['--algorithm', 'scrypt'], 'pässwörd');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\$scrypt\$ln=15,r=8,p=3\$/);
    assert.equal(await verifyPassword(parsePasswordHash(r.stdout.trim()), 'pässwörd'), true);
  });

  it('refuses an empty password and an unknown algorithm (exit 2, nothing on stdout)', async () => {
    const empty = await hash([], '\n');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no password/);
    assert.equal(empty.stdout, '');
    const bad = await hash(['--algorithm', 'md5'], 'pw\n');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /argument 'md5' is invalid/);
  });
});
