import 'reflect-metadata';
import { describe, expect, it } from 'vitest';

function Marker(): ClassDecorator {
  return () => undefined;
}
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- an empty class is all decorator metadata needs to name
class Dependency {}
@Marker()
class Consumer {
  constructor(readonly dependency: Dependency) {}
}

describe('toolchain', () => {
  it('emits decorator metadata, which NestJS dependency injection relies on', () => {
    expect(Reflect.getMetadata('design:paramtypes', Consumer)).toEqual([Dependency]);
  });
});
