/** nginx as a plain streaming reverse proxy: the benchmark's yardstick for the routing proxy's cost. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** How to get nginx when it is missing (Debian/Ubuntu). */
export const NGINX_INSTALL_HINT = 'apt-get install -y nginx';

/** Path of the nginx binary, or undefined when it is not installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes an nginx configuration into `dir` (also its prefix, logs and temp paths): one worker,
 * no access log, a keep-alive upstream pool and `proxy_buffering off`, so SSE chunks pass through
 * as they arrive, as the routing proxy relays them. Returns the config file path.
 */
export function writeNginxConfig(dir: string, listenPort: number, upstreamPort: number): string {
  for (const sub of ['logs', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  const conf = `# Benchmark yardstick: a plain reverse proxy in front of the vLLM simulator.
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream simulator {
    server 127.0.0.1:${upstreamPort};
    keepalive 512;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${listenPort} backlog=4096;
    location / {
      proxy_pass http://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
`;
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}
