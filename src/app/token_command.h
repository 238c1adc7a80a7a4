#pragma once
// `tagstream token`: makes credentials for operators. `new` creates an API
// key and appends its hash to the token file; `jwt` signs a JWT.
#include <string>
#include <vector>

namespace tagstream {

/// Runs the subcommand with the arguments after `token`; returns the exit code.
int run_token_command(const std::vector<std::string>& args);

}  // namespace tagstream
