'use strict';
// Settings from the environment, as the Python agents read them: AIRSPACE_AGENT_<NAME>,
// falling back to AIRSPACE_<NAME>.

const { readFileSync } = require('node:fs');

function setting(name, fallback) {
  return process.env[`AIRSPACE_AGENT_${name}`] ?? process.env[`AIRSPACE_${name}`] ?? fallback;
}

// The TLS files the settings name (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CA_FILE, TLS_CLIENT_AUTH),
// read; null for plaintext.
function tlsSettings() {
  const cert = setting('TLS_CERT_FILE', '');
  const ca = setting('TLS_CA_FILE', '');
  if (!cert && !ca) return null;
  const clientAuth = !['0', 'false', 'no', 'off'].includes(setting('TLS_CLIENT_AUTH', 'true').toLowerCase());
  return {
    cert: cert ? readFileSync(cert) : null,
    key: cert ? readFileSync(setting('TLS_KEY_FILE', '')) : null,
    ca: ca ? readFileSync(ca) : null,
    clientAuth,
  };
}

module.exports = { setting, tlsSettings };
