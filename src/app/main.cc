// The tagstream command: wires configuration, signals and run(); everything
// else lives in the core library.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "app/app.h"
#include "app/config.h"
#include "app/token_command.h"
#include "client/watch.h"
#include "core/build_info.h"
#include "core/log.h"

namespace {

constexpr std::string_view kUsage =
    "usage: tagstream <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve   run the server (see tagstream serve --help)\n"
    "  watch   print the events of an SSE stream, reconnecting and resuming\n"
    "          (see tagstream watch --help)\n"
    "  token   create API keys and JWTs for the server's authentication\n"
    "          (see tagstream token --help)\n"
    "  version print the version, git revision, build date and type\n"
    "          (also --version)\n";

int serve(const std::vector<std::string>& args) {
  tagstream::ConfigResult loaded = tagstream::load_server_config(args, tagstream::process_env);
  if (loaded.show_help) {
    std::fputs(tagstream::server_help_text().c_str(), stdout);
    return 0;
  }
  if (!loaded.error.empty()) {
    std::fprintf(stderr, "tagstream serve: %s\n", loaded.error.c_str());
    return 2;
  }
  try {
    tagstream::App app(std::move(loaded.config));
    app.start();
    app.stop_on_signals();
    app.wait();
  } catch (const std::exception& e) {
    tagstream::log(tagstream::LogLevel::error, "{}", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("%s\n", tagstream::version_line().c_str());
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "serve") return serve(args);
  if (command == "watch") return tagstream::run_watch(args);
  if (command == "token") return tagstream::run_token_command(args);
  std::fprintf(stderr, "tagstream: unknown command '%s'\n\n%s", command.c_str(), kUsage.data());
  return 2;
}
