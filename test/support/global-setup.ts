import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { redisServerOnPath, startOwnRedis } from '../../src/embedded-redis.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

function dockerMayBeReachable(): boolean {
  return process.env.DOCKER_HOST !== undefined || existsSync('/var/run/docker.sock');
}

/**
 * Finds the Redis the tests use, in this order: REDIS_URL; a container through testcontainers when a
 * Docker engine is reachable; a redis-server from PATH started here on a free port; else one clear error.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return undefined;
  }
  if (dockerMayBeReachable()) {
    try {
      const { GenericContainer, Wait } = await import('testcontainers');
      const container = await new GenericContainer('redis:7-alpine')
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
        .start();
      project.provide('redisUrl', `redis://${container.getHost()}:${container.getMappedPort(6379)}`);
      return async () => {
        await container.stop();
      };
    } catch (error) {
      console.warn(`testcontainers could not start Redis (${(error as Error).message}); trying redis-server on PATH`);
    }
  }
  if (redisServerOnPath()) {
    const own = await startOwnRedis();
    project.provide('redisUrl', own.url);
    return () => own.destroy();
  }
  throw new Error(
    'No Redis for the tests. Either set REDIS_URL=redis://host:port, or make a Docker engine reachable (testcontainers starts redis:7), or install redis-server on PATH (e.g. apt-get install redis-server).',
  );
}
