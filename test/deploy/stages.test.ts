import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { referencedStageVariables, resolveStageVariables } from '../../src/deploy/stage-vars.ts';
import { StageSelector } from '../../src/deploy/stage-select.ts';

describe('stage variables', () => {
  const config = {
    upstreams: { orders: { targets: [{ url: 'http://${stage.vars.ordersHost}:8080' }] } },
    routes: [{ name: 'orders', match: { path: '/orders' }, function: { name: 'orders-${stage.vars.alias}' }, plugins: { headers: { request: { set: { 'x-env': '${stage.vars.env} (${env:REGION})' } } } } }],
  };

  it('replaces ${stage.vars.NAME} in every string, leaving ${env:…} for the node', () => {
    const { config: out, issues } = resolveStageVariables(config, { ordersHost: 'orders.prod.internal', alias: 'live', env: 'prod' });
    assert.deepEqual(issues, []);
    assert.deepEqual(out, {
      upstreams: { orders: { targets: [{ url: 'http://orders.prod.internal:8080' }] } },
      routes: [{ name: 'orders', match: { path: '/orders' }, function: { name: 'orders-live' }, plugins: { headers: { request: { set: { 'x-env': 'prod (${env:REGION})' } } } } }],
    });
    assert.notEqual(out, config, 'the input is not mutated');
    assert.equal(config.upstreams.orders.targets[0]!.url, 'http://${stage.vars.ordersHost}:8080');
  });

  it('names the exact path of a variable the stage does not define', () => {
    const { issues } = resolveStageVariables(config, { ordersHost: 'x' });
    assert.deepEqual(issues, [
      { path: 'routes[0].function.name', message: 'stage variable "alias" is not defined on this stage' },
      { path: 'routes[0].plugins.headers.request.set.x-env', message: 'stage variable "env" is not defined on this stage' },
    ]);
  });

  it('lists the variables a config refers to', () => {
    assert.deepEqual(referencedStageVariables(config), ['alias', 'env', 'ordersHost']);
  });
});

describe('stage selection', () => {
  const selector = new StageSelector({ hosts: { 'API.example.com': 'prod', 'staging.example.com': 'staging' }, pathStages: ['dev', 'staging'], defaultStage: undefined });

  it('selects by host first, then by the first path segment (stripped)', () => {
    assert.deepEqual(selector.select('api.example.com', '/dev/orders'), { stage: 'prod', path: '/dev/orders' });
    assert.deepEqual(selector.select('other.example.com', '/dev/orders/1'), { stage: 'dev', path: '/orders/1' });
    assert.deepEqual(selector.select('other.example.com', '/staging'), { stage: 'staging', path: '/' });
  });

  it('a request naming no stage goes to the default stage, or to none', () => {
    assert.equal(selector.select('other.example.com', '/orders'), undefined);
    assert.equal(selector.select('other.example.com', '/'), undefined);
    assert.equal(selector.select('other.example.com', '/development/x'), undefined, 'a prefix must be a whole segment');
    const withDefault = new StageSelector({ hosts: {}, pathStages: ['dev'], defaultStage: 'prod' });
    assert.deepEqual(withDefault.select('x', '/orders'), { stage: 'prod', path: '/orders' });
    assert.deepEqual(withDefault.select('x', '/dev/orders'), { stage: 'dev', path: '/orders' });
  });
});
