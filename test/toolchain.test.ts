import 'reflect-metadata';
import { describe, expect, it } from 'vitest';

function Marker(): ClassDecorator {
  return () => undefined;
}
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
