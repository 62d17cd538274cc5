import { describe, expect, it } from 'vitest';
import { informativeness } from '../../src/pipeline/retriever/informative.js';

describe('informativeness of a turn', () => {
  it('ranks a first-person account above pleasantries and bare questions', () => {
    const account = informativeness(
      'I went camping with my kids two weekends ago and we roasted marshmallows by the lake.',
    );
    const planned = informativeness("We're moving next month.");
    const pleasantry = informativeness("Wow, that's great!");
    const question = informativeness('What made you try pottery?');
    expect(account).toBeGreaterThan(0.7);
    expect(planned).toBeGreaterThan(pleasantry);
    expect(pleasantry).toBeLessThan(0.1);
    expect(question).toBeLessThan(pleasantry + 0.1);
    expect(
      informativeness('I have finally finished the painting I started in spring, it took me months.'),
    ).toBeGreaterThan(account - 0.3);
  });

  it('stays within 0..1 and grows with length until 200 characters', () => {
    const short = informativeness('The weather is nice');
    const long = informativeness('The weather is nice '.repeat(10));
    const longer = informativeness('The weather is nice '.repeat(30));
    expect(long).toBeGreaterThan(short);
    expect(longer).toBe(long);
    for (const t of ['', '?', 'I went '.repeat(100), 'a?'.repeat(500)]) {
      expect(informativeness(t)).toBeGreaterThanOrEqual(0);
      expect(informativeness(t)).toBeLessThanOrEqual(1);
    }
  });
});
