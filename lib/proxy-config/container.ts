/**
 * Names the image, the task definition, the load balancer health check and the tests share about
 * the proxy container. The Dockerfile repeats two of them; a test keeps the copies equal.
 */
import { Ports } from '../../contracts/metrics';

/** Liveness path of the proxy: 200 while the process serves, independent of upstream readiness. */
export const PROXY_HEALTH_PATH = '/healthz';

/** Dockerfile of the proxy image, relative to the repository root (the build context). */
export const PROXY_DOCKERFILE = 'proxy/Dockerfile';

/** Container health check (exec form); the Dockerfile's HEALTHCHECK runs the same command. */
export const PROXY_HEALTHCHECK_COMMAND: readonly string[] = [
  'CMD',
  'node',
  '-e',
  `fetch('http://127.0.0.1:'+(process.env.PORT||${Ports.proxy})+'${PROXY_HEALTH_PATH}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
];
