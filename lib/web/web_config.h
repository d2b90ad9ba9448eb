#pragma once
// The web config file (--web.config.file): TLS and basic auth for every HTTP
// endpoint, in the format of the Prometheus exporter-toolkit, so that operators
// can reuse what they already write for node_exporter and friends:
//
//   tls_server_config:
//     cert_file: server.crt
//     key_file: server.key
//     client_ca_file: clients.pem          # optional, with client_auth_type
//     client_auth_type: RequireAndVerifyClientCert
//     min_version: TLS12                   # TLS12 (default) or TLS13
//   basic_auth_users:
//     alice: $2b$10$...                    # bcrypt hashes only
//
// Unknown keys and bad values are errors that name the file and line.

#include <map>
#include <optional>
#include <string>

#include "http/server.h"

namespace model_auditor::web {

struct WebConfigFile {
  std::string path;
  /// Absent: plain HTTP.
  std::optional<http::TlsOptions> tls;
  /// user -> bcrypt hash. Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
};

/// Parses the YAML text of a web config file. Relative file paths are resolved against the
/// directory of `path`. Throws LoadError ("web.yml:3: unknown key 'cert' in tls_server_config").
WebConfigFile ParseWebConfig(const std::string& text, const std::string& path);

/// Reads and parses a web config file. Throws LoadError.
WebConfigFile LoadWebConfigFile(const std::string& path);

}  // namespace model_auditor::web
