#pragma once
// What a server costs, read from /proc: CPU time, memory and open files of a
// set of processes (tagstream is one process with many threads; nginx is a
// master and its workers, so the children of the given pids can be included).
#include <sys/types.h>

#include <string>
#include <vector>

namespace tagstream_bench {

struct ProcSnapshot {
  double cpu_seconds = 0;  // utime + stime of every thread, of every process
  double rss_kib = 0;      // VmRSS summed (counts shared pages once per process)
  double pss_kib = 0;      // proportional set size summed: shared pages split between sharers
  double private_kib = 0;  // Private_Clean + Private_Dirty summed
  long fds = 0;            // open file descriptors
  long threads = 0;
  int processes = 0;  // how many processes were found alive
};

class ServerProcesses {
 public:
  /// `pids`: the server's processes; with `with_children`, their direct
  /// children too, looked up again at every sample (nginx workers).
  ServerProcesses(std::vector<pid_t> pids, bool with_children);
  bool empty() const { return roots_.empty(); }
  ProcSnapshot sample() const;
  /// "pid,pid,..." of the processes a sample would read now.
  std::string describe() const;

 private:
  std::vector<pid_t> current() const;
  std::vector<pid_t> roots_;
  bool with_children_;
};

/// Parses "123,456" into pids; dies on anything else.
std::vector<pid_t> parse_pid_list(const std::string& text);

/// CPU seconds (user + system) this process has used so far.
double self_cpu_seconds();

}  // namespace tagstream_bench
