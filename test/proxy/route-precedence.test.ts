/** Route precedence as a table: model name > x-route-tier > session > score. */
import { routePrecedence, sessionAfterScoring, sessionBeforeScoring, type Precedence, type RouteRequest } from '../../proxy/src/routing/precedence';
import type { RouteDecision } from '../../proxy/src/routing/decide';

const TIERS = { models: ['llama-3.1-8b', 'llama-3.1-70b'], names: ['small', 'large'] };

/** A verdict as text. */
function show(p: Precedence): string {
  if (p.kind === 'reject') return `reject ${p.error.status} ${p.error.code} param=${p.error.param}`;
  if (p.kind === 'chosen') return `chosen tier ${p.decision.tier} ${p.decision.reason}${p.modelNamed ? ' model-named' : ''}`;
  return `score session=${p.sessionId ?? '-'}`;
}

describe('route precedence', () => {
  test.each<[string, Partial<RouteRequest>, string]>([
    ['a named model picks its tier', { model: 'llama-3.1-70b' }, 'chosen tier 1 override model-named'],
    ['a named model wins over x-route-tier and a session', { model: 'llama-3.1-8b', tierHeader: 'large', sessionHeader: 's1' }, 'chosen tier 0 override model-named'],
    ['an unknown model is a 404 naming the param', { model: 'gpt-9' }, 'reject 404 model_not_found param=model'],
    ['"auto" leaves the choice to the next rule', { model: 'auto', tierHeader: 'large' }, 'chosen tier 1 override'],
    ['an empty model leaves the choice to the next rule', { model: '', tierHeader: 'small' }, 'chosen tier 0 override'],
    ['x-route-tier wins over a session', { tierHeader: 'large', sessionHeader: 's1' }, 'chosen tier 1 override'],
    ['an unknown x-route-tier is a 400 naming the header', { tierHeader: 'medium' }, 'reject 400 unknown_tier param=x-route-tier'],
    ['an empty x-route-tier leaves the choice to the next rule', { tierHeader: '', sessionHeader: 's1' }, 'score session=s1'],
    ['a repeated x-route-tier header is not an override', { tierHeader: ['small', 'large'] }, 'score session=-'],
    ['a session id is kept for scoring', { sessionHeader: 'abc' }, 'score session=abc'],
    ['a session id longer than 256 characters is ignored', { sessionHeader: 'x'.repeat(257) }, 'score session=-'],
    ['a 256-character session id is kept', { sessionHeader: 'y'.repeat(256) }, `score session=${'y'.repeat(256)}`],
    ['nothing named: score', {}, 'score session=-'],
  ])('%s', (_name, req, expected) => {
    expect(show(routePrecedence({ model: undefined, tierHeader: undefined, sessionHeader: undefined, ...req }, TIERS))).toBe(expected);
  });

  const scored = (tier: number, score = 0.5): RouteDecision => ({ tier, score, reason: 'score' });

  test.each<[string, number | undefined, number, RouteDecision | undefined]>([
    ['no pin: score', undefined, 2, undefined],
    ['pinned to the largest tier: no scoring', 1, 2, { tier: 1, score: undefined, reason: 'session' }],
    ['pinned to a middle tier of three: still scored (the score may go higher)', 1, 3, undefined],
  ])('before scoring, %s', (_name, pinned, count, expected) => {
    expect(sessionBeforeScoring(pinned, count)).toEqual(expected);
  });

  test.each<[string, number | undefined, RouteDecision, RouteDecision]>([
    ['no pin keeps the score', undefined, scored(0), scored(0)],
    ['a pin above the scored tier lifts it, keeping the score', 2, scored(1, 0.4), { tier: 2, score: 0.4, reason: 'session' }],
    ['a pin at the scored tier keeps the scored reason', 1, scored(1), scored(1)],
    ['a pin below the scored tier never lowers it', 0, scored(1), scored(1)],
  ])('after scoring, %s', (_name, pinned, d, expected) => {
    expect(sessionAfterScoring(pinned, d)).toEqual(expected);
  });
});
