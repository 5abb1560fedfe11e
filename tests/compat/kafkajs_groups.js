// kafkajs 2.2.4 consumer groups against ferry (run by test_groups_kafkajs.py, which starts the
// broker): two consumers of one group (consumer.run with eachMessage, the default
// RoundRobinAssigner, auto-commit after each batch, sessionTimeout 6000, heartbeats every second)
// share a 4-partition topic two partitions each and consume every produced message exactly once;
// admin.deleteGroups of the running group fails with NON_EMPTY_GROUP; admin.describeGroups shows
// it Stable with both members and their assignments, listGroups lists it, fetchOffsets reaches the
// high watermarks. After the consumers disconnect (LeaveGroup) the group is Empty;
// admin.resetOffsets({earliest}) and a new consumer of the group reads every message again;
// admin.deleteGroups then removes the group.
//
//   node kafkajs_groups.js 127.0.0.1:PORT
'use strict';
const { Kafka, logLevel, AssignerProtocol, CompressionTypes, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap] = process.argv.slice(2);
if (!bootstrap) {
  console.error('usage: node kafkajs_groups.js HOST:PORT');
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`  ok: ${what}`);
}
function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`check failed: ${what}: got ${g}, want ${w}`);
  console.log(`  ok: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(100);
  }
}

const kafka = new Kafka({
  clientId: 'ferry-compat-kafkajs-groups',
  brokers: [bootstrap],
  logLevel: process.env.FERRY_COMPAT_DEBUG ? logLevel.DEBUG : logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100 },
});

const TOPIC = 'kj-grp';
const GROUP = 'kj-group';
const PARTS = 4;
const N = 400;

// A group member: what it consumed and the assignment of its latest GROUP_JOIN.
function member(name) {
  const m = { name, consumed: [], assignment: null, memberId: null, errors: [] };
  m.consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 100,
    retry: { retries: 5, initialRetryTime: 100 },
  });
  m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
    m.memberId = e.payload.memberId;
    m.assignment = (e.payload.memberAssignment[TOPIC] || []).slice().sort();
  });
  m.consumer.on(m.consumer.events.CRASH, (e) => m.errors.push(String(e.payload.error)));
  m.start = async () => {
    await m.consumer.connect();
    await m.consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await m.consumer.run({
      eachMessage: async ({ partition, message }) => {
        m.consumed.push(`${partition}/${message.offset}/${message.value.toString()}`);
      },
    });
  };
  return m;
}

function checkOnce(got, want, what) {
  const wantSet = new Set(want);
  const gotSet = new Set(got);
  eq(got.length - gotSet.size, 0, `${what}: no message consumed twice`);
  eq([...gotSet].filter((x) => !wantSet.has(x)).slice(0, 5), [],
    `${what}: nothing consumed that was not produced`);
  eq(gotSet.size, wantSet.size, `${what}: all ${wantSet.size} messages consumed`);
}

async function committed(admin) {
  const r = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  const out = {};
  for (const p of r[0].partitions) out[p.partition] = p.offset;
  return out;
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const members = [];
  try {
    console.log('== setup: topic, and is there a group coordinator?');
    eq(await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTS }] }),
      true, `created ${TOPIC} with ${PARTS} partitions`);
    try {
      await admin.fetchOffsets({ groupId: 'kj-probe', topics: [TOPIC] });
    } catch (e) {
      throw new Error(`the broker has no working group coordinator (fetchOffsets: ${e.name}: ${e.message})`);
    }
    check(true, 'FindCoordinator + OffsetFetch answered (the group coordinator is there)');

    console.log('== two consumers join; two partitions each');
    members.push(member('a'), member('b'));
    for (const m of members) await m.start();
    await waitFor(() => {
      for (const m of members) if (m.errors.length) throw new Error(`consumer ${m.name} crashed: ${m.errors}`);
      const all = members.flatMap((m) => m.assignment || []).sort();
      return JSON.stringify(all) === JSON.stringify([0, 1, 2, 3]) &&
        members.every((m) => m.assignment.length === 2);
    }, 30000, 'both consumers assigned two partitions each');
    check(true, `assignments: ${members.map((m) => `${m.name}=${JSON.stringify(m.assignment)}`).join(', ')}`);

    console.log(`== produce ${N} keyed messages`);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const want = [];
    for (let s = 0; s < 4; s++) {
      const msgs = [];
      for (let i = s * (N / 4); i < (s + 1) * (N / 4); i++) msgs.push({ key: `k${i % 20}`, value: `kj-${i}` });
      const res = await producer.send({ topic: TOPIC, acks: -1, messages: msgs });
      check(res.every((r) => r.errorCode === 0), `send ${s + 1} of 4 acknowledged`);
      for (const m of msgs) want.push(m.value);
    }
    await producer.disconnect();

    console.log('== every message consumed exactly once across the two consumers');
    const values = () => members.flatMap((m) => m.consumed.map((x) => x.split('/')[2]));
    await waitFor(() => new Set(values()).size >= N, 30000, `${N} messages consumed`);
    checkOnce(values(), want, 'two consumers');
    const all = members.flatMap((m) => m.consumed);
    eq(all.length, new Set(all).size, 'no (partition, offset) consumed twice');
    for (const m of members) {
      const parts = [...new Set(m.consumed.map((x) => Number(x.split('/')[0])))].sort();
      check(parts.every((p) => m.assignment.includes(p)), `consumer ${m.name} read only its partitions ${JSON.stringify(m.assignment)}`);
    }

    console.log('== admin.deleteGroups of a group with members: NON_EMPTY_GROUP');
    try {
      await admin.deleteGroups([GROUP]);
      throw new Error('check failed: deleteGroups of the running group succeeded');
    } catch (e) {
      if (e.message.startsWith('check failed')) throw e;
      const g = (e.groups || [])[0] || {};
      eq([e.name, g.groupId, g.error && g.error.type], ['KafkaJSDeleteGroupsError', GROUP, 'NON_EMPTY_GROUP'],
        'deleteGroups fails with NON_EMPTY_GROUP');
    }

    console.log('== admin.describeGroups / listGroups while the consumers run');
    const d = (await admin.describeGroups([GROUP])).groups[0];
    eq([d.groupId, d.errorCode, d.state, d.protocolType, d.protocol],
      [GROUP, 0, 'Stable', 'consumer', 'RoundRobinAssigner'], 'group, error, state, protocol type, protocol');
    eq(d.members.map((x) => x.memberId).sort(), members.map((m) => m.memberId).sort(), 'both members described');
    for (const x of d.members) {
      const a = AssignerProtocol.MemberAssignment.decode(x.memberAssignment);
      const m = members.find((y) => y.memberId === x.memberId);
      eq((a.assignment[TOPIC] || []).slice().sort(), m.assignment, `member ${m.name}: described assignment`);
      const md = AssignerProtocol.MemberMetadata.decode(x.memberMetadata);
      eq(md.topics, [TOPIC], `member ${m.name}: metadata lists the subscription`);
    }
    const listed = (await admin.listGroups()).groups;
    check(listed.some((g) => g.groupId === GROUP && g.protocolType === 'consumer'),
      `listGroups has ${GROUP} (consumer)`);

    console.log('== admin.fetchOffsets reaches the high watermarks');
    const high = {};
    for (const p of await admin.fetchTopicOffsets(TOPIC)) high[p.partition] = p.high;
    await waitFor(async () => JSON.stringify(await committed(admin)) === JSON.stringify(high),
      10000, `committed offsets == high watermarks ${JSON.stringify(high)}`);
    check(true, `fetchOffsets == high watermarks ${JSON.stringify(high)}`);

    console.log('== consumers disconnect (LeaveGroup): the group is Empty, offsets stay');
    for (const m of members) await m.consumer.disconnect();
    eq(await committed(admin), high, 'fetchOffsets after disconnect == high watermarks');
    const e = (await admin.describeGroups([GROUP])).groups[0];
    eq([e.state, e.members.length], ['Empty', 0], 'group Empty without members');

    console.log('== admin.resetOffsets({earliest}) and a new consumer reads everything again');
    await admin.resetOffsets({ groupId: GROUP, topic: TOPIC, earliest: true });
    const reset = await committed(admin);
    check(Object.values(reset).every((o) => o === '-2' || o === '0') && Object.keys(reset).length === PARTS,
      `committed offsets after resetOffsets are earliest (${JSON.stringify(reset)})`);
    const c = member('c');
    members.push(c);
    await c.start();
    await waitFor(() => new Set(c.consumed.map((x) => x.split('/')[2])).size >= N, 30000,
      `consumer c re-reads ${N} messages`);
    eq(c.assignment, [0, 1, 2, 3], 'consumer c alone has all four partitions');
    checkOnce(c.consumed.map((x) => x.split('/')[2]), want, 'after resetOffsets');
    await waitFor(async () => JSON.stringify(await committed(admin)) === JSON.stringify(high),
      10000, 'consumer c committed up to the high watermarks');
    await c.consumer.disconnect();

    console.log('== admin.deleteGroups of the empty group');
    const del = await admin.deleteGroups([GROUP]);
    eq(del.map((g) => [g.groupId, g.errorCode]), [[GROUP, 0]], 'deleteGroups: no error');
    const after = (await admin.listGroups()).groups;
    check(!after.some((g) => g.groupId === GROUP), 'the group is no longer listed');
    const dead = (await admin.describeGroups([GROUP])).groups[0];
    eq([dead.state, dead.members.length], ['Dead', 0], 'describeGroups: Dead without members');
    const gone = await committed(admin);
    check(Object.values(gone).every((o) => o === '-1'), `no committed offsets left (${JSON.stringify(gone)})`);
  } finally {
    for (const m of members) {
      try { await m.consumer.disconnect(); } catch (e) { /* already gone */ }
    }
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAILED: ${e.stack || e}`);
    process.exit(1);
  },
);
