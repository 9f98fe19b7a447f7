// The conformance scenario through node-vtiger (npm), unmodified.
//
// Usage: node node_vtiger_scenario.js URL USER ACCESS_KEY
// Prints one PASS/FAIL line a step and, last, "N passed, M failed".
// node-vtiger has no listtypes and no logout; its create fills
// assigned_user_id from login's userId. It keeps one callback slot, so calls
// run one after another. A non-JSON answer would crash it (uncaught
// JSON.parse): the runner then sees no summary line and fails the suite.
'use strict';
const NodeVtiger = require('node-vtiger');

const [url, user, key] = process.argv.slice(2);
const client = new NodeVtiger(url, user, key, 'error');
const results = [];
const state = {};

// One client call as a promise: resolves with the result, rejects with the error.
function call(method, ...args) {
  return new Promise((resolve, reject) => {
    client[method](...args, (err, result) => {
      if (err || result === false || result === null || result === undefined) {
        reject(new Error(JSON.stringify(err || client.lastError())));
      } else {
        resolve(result);
      }
    });
  });
}

// Like call, for a call that must fail: resolves with the client's error.
function callFails(method, ...args) {
  return new Promise((resolve, reject) => {
    client[method](...args, (err, result) => {
      if (result === false && err) {
        resolve(err);
      } else {
        reject(new Error(`expected a failure, got ${JSON.stringify(result)}`));
      }
    });
  });
}

async function step(name, check) {
  let reason = null;
  try {
    reason = (await check()) || null;
  } catch (e) {
    reason = e.message;
  }
  results.push(reason === null);
  console.log(`${reason === null ? 'PASS' : 'FAIL'} node-vtiger: ${name}${reason === null ? '' : `: ${reason}`}`);
}

const steps = [
  ['login', async () => {
    await call('doLogin');
    if (!client._wsSessionName || !client._wsUserId) return 'no sessionName or userId';
  }],
  ['describe Contacts', async () => {
    const r = await call('doDescribe', 'Contacts');
    if (r.name !== 'Contacts' || r.idPrefix !== '12') return `name=${r.name} idPrefix=${r.idPrefix}`;
    if (!r.fields.some((f) => f.name === 'lastname')) return 'no lastname field';
  }],
  ['create an Account (assigned to login\'s userId)', async () => {
    const r = await call('doCreate', 'Accounts', { accountname: 'Conformance Node' });
    if (r.assigned_user_id !== client._wsUserId) return `assigned_user_id ${r.assigned_user_id}`;
    state.account = r.id;
  }],
  ['create a Contact linked to it', async () => {
    const r = await call('doCreate', 'Contacts', { lastname: 'Nodeclient', account_id: state.account });
    if (r.account_id !== state.account) return `account_id ${r.account_id}`;
    state.contact = r.id;
  }],
  ['retrieve the Contact', async () => {
    const r = await call('doRetrieve', state.contact);
    if (r.lastname !== 'Nodeclient' || r.account_id !== state.account) return JSON.stringify(r);
    state.retrieved = r;
  }],
  ['update with the whole retrieved record', async () => {
    const record = { ...state.retrieved, title: 'Integration lead' };
    const r = await call('doUpdate', record);
    if (r.title !== 'Integration lead' || r.lastname !== 'Nodeclient') return JSON.stringify(r);
  }],
  ['query with WHERE, ORDER BY and LIMIT offset, n', async () => {
    for (const name of ['Conf Node A', 'Conf Node B', 'Conf Node C', 'Conf Node D']) {
      await call('doCreate', 'Accounts', { accountname: name });
    }
    // No trailing ';': the client appends it.
    const rows = await call('doQuery',
      "select accountname from Accounts where accountname like 'Conf Node %' order by accountname limit 1, 2");
    const names = rows.map((r) => r.accountname);
    if (JSON.stringify(names) !== JSON.stringify(['Conf Node B', 'Conf Node C'])) return `page ${names}`;
  }],
  ['count(*)', async () => {
    const rows = await call('doQuery', "select count(*) from Accounts where accountname like 'Conf Node %';");
    if (JSON.stringify(rows) !== '[{"count":"4"}]') return `count ${JSON.stringify(rows)}`;
  }],
  ['sync from 0', async () => {
    const r = await call('doSync', 0, 'Accounts');
    if (!r.updated.some((rec) => rec.id === state.account)) return `${state.account} not in updated`;
    if (!('deleted' in r) || !('more' in r) || !('lastModifiedTime' in r)) return 'keys missing';
  }],
  ['delete the Contact', async () => {
    const r = await call('doDelete', state.contact);
    if (r.status !== 'successful') return JSON.stringify(r);
  }],
  ['retrieve of the deleted id fails', async () => {
    const err = await callFails('doRetrieve', state.contact);
    if (!err.code) return `error without code: ${JSON.stringify(err)}`;
  }],
];

(async () => {
  for (const [name, check] of steps) {
    await step(name, check);
  }
  const passed = results.filter(Boolean).length;
  console.log(`node-vtiger: ${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length ? 0 : 1);
})();
