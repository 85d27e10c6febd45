import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mediaTypeMatches, resourcePath } from '../../../src/functions/events/index.ts';

describe('resourcePath', () => {
  it('turns Expeditor patterns into API Gateway resource templates', () => {
    assert.equal(resourcePath('/menu'), '/menu');
    assert.equal(resourcePath('/items/:id'), '/items/{id}');
    assert.equal(resourcePath('/users/:userId/orders/:orderId'), '/users/{userId}/orders/{orderId}');
    assert.equal(resourcePath('/static/*'), '/static/{proxy+}');
    assert.equal(resourcePath('/*'), '/{proxy+}');
    assert.equal(resourcePath('/items/:id(^\\d+)'), '/items/{id}');
    assert.equal(resourcePath('/items/:id?'), '/items/{id}');
    assert.equal(resourcePath('/range/:from-:to'), '/range/{from}-{to}');
    assert.equal(resourcePath('/a::b'), '/a:b');
  });
});

describe('mediaTypeMatches', () => {
  it('matches exact types, subtype wildcards and */*, ignoring parameters and case', () => {
    assert.equal(mediaTypeMatches('image/png', ['image/png']), true);
    assert.equal(mediaTypeMatches('Image/PNG; q=0.9', ['image/png']), true);
    assert.equal(mediaTypeMatches('image/gif', ['image/*']), true);
    assert.equal(mediaTypeMatches('application/pdf', ['image/*']), false);
    assert.equal(mediaTypeMatches('application/pdf', ['*/*']), true);
    assert.equal(mediaTypeMatches('text/plain', []), false);
  });

  it('counts wildcards only in the patterns, and a missing type only for */*', () => {
    assert.equal(mediaTypeMatches('*/*', ['image/png']), false);
    assert.equal(mediaTypeMatches(undefined, ['image/*']), false);
    assert.equal(mediaTypeMatches(undefined, ['*/*']), true);
    assert.equal(mediaTypeMatches('', ['*/*']), true);
  });
});
