import { describe, expect, it } from 'vitest';
import { decodeSentRecord, encodeSentRecord, type SentRecord } from '../../src/invites/sent-record.ts';

const full: SentRecord = {
  kind: 'invited',
  status: 201,
  requestId: 'req-1',
  providerId: '202',
  message: 'Invitation sent',
  email: 'ada@example.com',
  person: { externalId: 'E-1042', firstName: 'Ada', lastName: 'Lovelace' },
  attempts: 2,
  batchId: 'cohort-7',
  enqueuedAt: 1_795_673_604_492,
  finishedAt: 1_795_673_604_563,
  scheduledFor: 1_795_700_000_000,
  timeZone: 'Europe/Berlin',
};

describe('sent record', () => {
  it('reads back what it stored, every field, and leaves out what was absent', () => {
    expect(decodeSentRecord(encodeSentRecord(full))).toEqual(full);
    const bare: SentRecord = { kind: 'already_member', email: 'b@example.com', attempts: 1, enqueuedAt: 5, finishedAt: 9 };
    expect(decodeSentRecord(encodeSentRecord(bare))).toEqual(bare);
  });

  it('is smaller than the outcome JSON, person and data a completed job kept', () => {
    expect(encodeSentRecord(full).length).toBeLessThan(200);
  });

  it('reads nothing from what is not a record: absent, not JSON, another shape or version, a wrong kind', () => {
    for (const text of [
      null,
      undefined,
      '',
      'nope',
      '{"k":"invited"}',
      '[2,"invited"]',
      '[1,"rejected",0,"","","","a@b.c","","","","",1,1,1]',
      '[1,"invited"]',
    ]) {
      expect(decodeSentRecord(text)).toBeUndefined();
    }
  });

  it('drops a person field that does not hold, never the record', () => {
    const text = JSON.stringify([1, 'invited', 201, '', '', '', 'a@example.com', 'x'.repeat(300), 'Ann', '', '', 10, 5, 1]);
    expect(decodeSentRecord(text)).toMatchObject({ email: 'a@example.com', finishedAt: 15 });
    expect(decodeSentRecord(text)?.person).toBeUndefined();
  });
});
