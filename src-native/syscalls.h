// Thin system-call layer: one call each, no Node-API. Every function
// returns >= 0 on success and -errno on failure, so the glue in binding.cc
// decides how errors reach JavaScript and this file stays testable C++.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <vector>

namespace zygote {

// SCM_MAX_FD: the most fds the kernel passes in one SCM_RIGHTS message.
constexpr int kMaxPassedFds = 253;

// pidfd_open(2) with PIDFD_NONBLOCK (Linux 5.10). Returns the pidfd.
// The kernel makes every pidfd close-on-exec.
int OpenPidfd(pid_t pid);

// pidfd_send_signal(2): signals the process the pidfd refers to, so a pid
// recycled after the target died can never be hit by mistake.
int SendSignal(int pidfd, int signal);

// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC [| SOCK_NONBLOCK]).
int OpenSocketPair(bool nonblock, int fds[2]);

// sendmsg(2) with one SCM_RIGHTS message carrying `fds`. Returns bytes sent.
// MSG_NOSIGNAL: a closed peer must give EPIPE, not kill Node with SIGPIPE.
ssize_t SendWithFds(int sock, const void* data, size_t length,
                    const std::vector<int>& fds);

struct ReceivedMessage {
  std::vector<int> fds;
  // Fds were dropped: more arrived than max_fds (closed here), or the
  // kernel found no room for them (MSG_CTRUNC).
  bool truncated = false;
  // Pid of the process that wrote these bytes (SCM_CREDENTIALS), or 0
  // when SO_PASSCRED is off on this socket.
  pid_t sender_pid = 0;
};

// recvmsg(2) with MSG_CMSG_CLOEXEC, so received fds never leak into a
// process Node spawns later. At most `max_fds` fds are kept, the rest are
// closed. With SO_PASSCRED on, a Unix stream socket never merges bytes of
// different writers into one read (af_unix.c: "Never glue messages from
// different writers"), so `sender_pid` names the writer of every byte.
ssize_t ReceiveMessage(int sock, void* data, size_t capacity, size_t max_fds,
                       ReceivedMessage* out);

// setsockopt(SO_PASSCRED): ask for the sender's credentials on receive.
int SetPassCredentials(int sock, bool on);

// prctl(PR_SET_CHILD_SUBREAPER / PR_GET_CHILD_SUBREAPER).
int SetChildSubreaper(bool on);
int GetChildSubreaper(bool* on);

struct ExitStatus {
  pid_t pid;
  int code;      // exit code when exited, else -1
  int signal;    // terminating signal when killed, else 0
  bool core_dumped;
};

// waitid(P_PIDFD, pidfd, WEXITED | WNOHANG). Reaps only the one child the
// pidfd names: never waitpid(-1), which would steal the exit status of
// processes libuv spawned for child_process. Returns 1 when reaped (status
// filled), 0 when the child is still running, -errno otherwise (ECHILD when
// the process is not our child).
int ReapPidfd(int pidfd, ExitStatus* status);

int CloseFd(int fd);

}  // namespace zygote
