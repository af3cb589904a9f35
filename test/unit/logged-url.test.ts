// What the server logs of a request that failed: its URL without the values
// of the secrets a query may carry (a WebSocket's ?token=, a page's ?csrf=).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loggedUrl } from '../../server/http/router';

test('loggedUrl hides the token and the page secret, and keeps the rest of the URL', () => {
  assert.equal(loggedUrl('/api/hosts?token=s3cret'), '/api/hosts?token=(hidden)');
  assert.equal(loggedUrl('/ws/../api/hosts?a=1&TOKEN=s3cret&b=2'), '/ws/../api/hosts?a=1&TOKEN=(hidden)&b=2');
  assert.equal(loggedUrl('/api/hosts?csrf=abc&token=def#x'), '/api/hosts?csrf=(hidden)&token=(hidden)#x');
  assert.equal(loggedUrl('/api/vms?mytoken=keep'), '/api/vms?mytoken=keep', 'only the parameters of those names');
  assert.equal(loggedUrl('/api/vms'), '/api/vms');
});
