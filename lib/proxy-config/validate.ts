/**
 * Checks a rendered proxy config document with the proxy's own loader at synth, so the stack and
 * the proxy can never disagree on the document's shape.
 */
import { loadProxyConfigFromEnv, ProxyConfig } from '../../contracts/proxy-config';
import { ConfigError } from '../../contracts/validation';
import type { ProxyConfigDocument } from './render';

/** Environment variable holding the inline config document. */
export const PROXY_CONFIG_ENV = 'LLM_ROUTER_CONFIG';
/** Environment variable (an ECS secret) holding the client API keys. */
export const PROXY_API_KEYS_ENV = 'LLM_ROUTER_API_KEYS';

// Stand-ins used only inside this check; neither reaches the template.
const TOKEN_MARKER = /\$\{Token\[[^\]]*\]\}/g;
const TOKEN_STAND_IN = 'unresolved.invalid';
const KEY_STAND_IN = '["synth-check-key"]';

/**
 * Loads `doc` exactly as the container does (inline JSON plus keys from the secret's environment
 * variable) and returns the validated config; throws listing every problem. Deploy-time values
 * (load balancer DNS names) are replaced by a stand-in host.
 */
export function checkProxyConfig(doc: ProxyConfigDocument): ProxyConfig {
  const keys = (doc as { apiKeys?: unknown }).apiKeys;
  if (Array.isArray(keys) && keys.length > 0) {
    throw new Error(`proxy config apiKeys: got ${keys.length} key(s), expected none in the rendered document (keys come from Secrets Manager through ${PROXY_API_KEYS_ENV})`);
  }
  const json = JSON.stringify(doc).replace(TOKEN_MARKER, TOKEN_STAND_IN);
  try {
    return loadProxyConfigFromEnv({ [PROXY_CONFIG_ENV]: json, [PROXY_API_KEYS_ENV]: KEY_STAND_IN });
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new Error(`the rendered proxy config is not valid for the proxy:\n  ${e.issues.join('\n  ')}`);
    }
    throw e;
  }
}
