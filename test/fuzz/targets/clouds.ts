// clouds.yaml through the real parser (parseCloudsYamlText, failsafe schema) and the reading of one
// cloud's entry (cloudFromDocument: auth fields, auth type, domains, interface, verify, overrides).
// Every refusal must be a CloudConfigError naming the file and field.
import { parse as parseYaml } from 'yaml';
import { CloudConfigError } from '../../../drivers/errors.js';
import { cloudFromDocument, parseCloudsYamlText } from '../../../drivers/openstack/config.js';
import type { Prng } from '../../../sim/prng.js';
import type { Mutator } from '../mutate.js';
import { accepted, rejected, text, utf8, type FuzzTarget, type Outcome } from '../target.js';
import { YAML_TOKENS, generateYaml } from './yaml-grammar.js';

const PASSWORD = `clouds:
  site:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: admin
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
    verify: false
    image_endpoint_override: http://127.0.0.1:9292
`;
const APP_CREDENTIAL = `clouds:
  site:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org
      application_credential_id: abc
      application_credential_secret: "123"
`;
const passwordTree: unknown = parseYaml(PASSWORD);

function run(input: Uint8Array): Outcome {
  try {
    const doc = parseCloudsYamlText(text(input), 'clouds.yaml');
    cloudFromDocument(doc, 'clouds.yaml', 'site');
    return accepted();
  } catch (error) {
    if (!(error instanceof CloudConfigError)) throw error;
    const kind = error.message.includes('is not valid YAML') ? 'yaml-syntax' : error.field === '' ? 'document' : `field:${error.field.replace(/^clouds\.site\./, '')}`;
    return rejected(kind, error.message);
  }
}

export const cloudsTarget: FuzzTarget = {
  name: 'clouds',
  covers: 'drivers/openstack/config: parseCloudsYamlText, cloudFromDocument',
  // Real files are a few KiB; the size limit itself is checked before parsing (tested in test/config).
  maxInputBytes: 8 * 1024,
  // Printing a deep tree as block YAML is quadratic; deep documents come from the flow-nesting generator.
  maxNesting: 300,
  dictionary: [...YAML_TOKENS, 'clouds:', 'site:', 'auth:', 'auth_url:', 'auth_type:', 'password:', 'application_credential_secret:', 'verify:', 'interface:', 'http://', 'https://'],
  seeds: () => [utf8(PASSWORD), utf8(APP_CREDENTIAL)],
  generate: (rng: Prng, m: Mutator) => utf8(generateYaml(passwordTree, rng, m)),
  run,
};
